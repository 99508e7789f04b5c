package partition

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

// Idempotence follows Kafka: each producer id has an epoch and a sequence
// number per partition. A batch whose sequences match one of the producer's
// last few batches is a retry and gets the stored batch's offset back
// without a second append; a gap or a stale epoch is refused.

// maxCachedBatches is how many recent batches per producer are remembered
// for dedupe, as Kafka's max.in.flight.requests.per.connection limit of 5.
const maxCachedBatches = 5

// DefaultProducerExpiry is how long an idle producer's state is kept, as
// Kafka's producer.id.expiration.ms.
const DefaultProducerExpiry = 24 * time.Hour

type seqBatch struct {
	first, last int32
	base        int64
}

// producerState is one producer's dedupe state in one partition. It is a
// value with room for every remembered batch, so that recording an append
// allocates nothing.
type producerState struct {
	epoch    int16
	n        uint8 // batches in use, oldest first
	lastUsed int64 // unix ms of the last append
	batches  [maxCachedBatches]seqBatch
}

func (s *producerState) recent() []seqBatch { return s.batches[:s.n] }

func (s *producerState) lastSeq() int32 { return s.batches[s.n-1].last }

// add remembers b, forgetting the oldest batch when full.
func (s *producerState) add(b seqBatch) {
	if int(s.n) == len(s.batches) {
		copy(s.batches[:], s.batches[1:])
		s.n--
	}
	s.batches[s.n] = b
	s.n++
}

// seqAdd adds n to a sequence number, wrapping at MaxInt32 to 0 as Kafka
// does.
func seqAdd(seq int32, n int32) int32 {
	return int32((int64(seq) + int64(n)) % (math.MaxInt32 + 1))
}

// checkSequence decides what to do with a batch from an idempotent
// producer: dup is the offset of an identical stored batch, or -1 to append.
// mu is held.
func (p *Partition) checkSequence(pr log.Producer, n int) (dup int64, err error) {
	last := seqAdd(pr.Sequence, int32(n-1))
	st, ok := p.mu.producers[pr.ID]
	switch {
	case pr.Sequence < 0 || pr.Epoch < 0:
		return -1, fmt.Errorf("%w: producer %d epoch %d sequence %d", ErrOutOfOrderSequence, pr.ID, pr.Epoch, pr.Sequence)
	case !ok:
		// As Kafka: a producer id without state (new, or expired while
		// it idled) may start at any sequence. Refusing it would fail a
		// live producer's next batch once its state expired.
		return -1, nil
	case pr.Epoch > st.epoch:
		if pr.Sequence != 0 {
			return -1, fmt.Errorf("%w: producer %d epoch %d must start at sequence 0, not %d",
				ErrOutOfOrderSequence, pr.ID, pr.Epoch, pr.Sequence)
		}
		return -1, nil
	case pr.Epoch < st.epoch:
		return -1, fmt.Errorf("%w: producer %d epoch %d, current epoch is %d",
			ErrProducerFenced, pr.ID, pr.Epoch, st.epoch)
	}
	for _, b := range st.recent() {
		if b.first == pr.Sequence && b.last == last {
			return b.base, nil
		}
	}
	if want := seqAdd(st.lastSeq(), 1); pr.Sequence != want {
		if pr.Sequence > want || want-pr.Sequence > math.MaxInt32/2 { // ahead, allowing for wrap
			return -1, fmt.Errorf("%w: producer %d sent sequence %d, expected %d",
				ErrOutOfOrderSequence, pr.ID, pr.Sequence, want)
		}
		return -1, fmt.Errorf("%w: producer %d sent sequence %d, already past %d",
			ErrDuplicateSequence, pr.ID, pr.Sequence, st.lastSeq())
	}
	return -1, nil
}

// recordSequence returns the producer's state after an appended batch and
// writes it into wb, so it is durable with the batch. mu is held.
func (p *Partition) recordSequence(wb *pebble.Batch, pr log.Producer, n int, base int64) (producerState, error) {
	st := producerState{epoch: pr.Epoch}
	if old, ok := p.mu.producers[pr.ID]; ok && old.epoch == pr.Epoch {
		st = old
	}
	st.lastUsed = p.now().UnixMilli()
	st.add(seqBatch{first: pr.Sequence, last: seqAdd(pr.Sequence, int32(n-1)), base: base})
	var key [producerKeyLen]byte
	var val [maxStateLen]byte
	return st, wb.Set(p.producerKey(key[:0], pr.ID), st.encode(val[:0]), nil)
}

// producerKeyLen is the length of a producer state's key: partition
// prefix and producer id.
const producerKeyLen = 1 + 4 + 4 + 8

// maxStateLen is the longest encoded producer state.
const maxStateLen = 11 + 16*maxCachedBatches

// producerKey appends to dst the key of producer id's state.
func (p *Partition) producerKey(dst []byte, id int64) []byte {
	k := log.PartitionPrefix(dst, log.PrefixProducer, p.id, uint32(p.index))
	return binary.BigEndian.AppendUint64(k, uint64(id))
}

// encode appends to dst: epoch u16 | lastUsed u64 | count u8 |
// (first u32 | last u32 | base u64)*
func (s *producerState) encode(dst []byte) []byte {
	b := binary.BigEndian.AppendUint16(dst, uint16(s.epoch))
	b = binary.BigEndian.AppendUint64(b, uint64(s.lastUsed))
	b = append(b, s.n)
	for _, e := range s.recent() {
		b = binary.BigEndian.AppendUint32(b, uint32(e.first))
		b = binary.BigEndian.AppendUint32(b, uint32(e.last))
		b = binary.BigEndian.AppendUint64(b, uint64(e.base))
	}
	return b
}

// decodeProducerState decodes what encode wrote. Of more batches than
// are remembered (none are written) it keeps the newest.
func decodeProducerState(b []byte) (producerState, bool) {
	if len(b) < 11 || int(b[10]) == 0 || len(b) != 11+16*int(b[10]) {
		return producerState{}, false
	}
	s := producerState{
		epoch:    int16(binary.BigEndian.Uint16(b)),
		lastUsed: int64(binary.BigEndian.Uint64(b[2:])),
	}
	for e := b[11:]; len(e) > 0; e = e[16:] {
		s.add(seqBatch{
			first: int32(binary.BigEndian.Uint32(e)),
			last:  int32(binary.BigEndian.Uint32(e[4:])),
			base:  int64(binary.BigEndian.Uint64(e[8:])),
		})
	}
	return s, true
}

// loadProducers reads the partition's producer states, dropping (and
// deleting) those idle past the expiry.
func (p *Partition) loadProducers() (map[int64]producerState, error) {
	prefix := log.PartitionPrefix(nil, log.PrefixProducer, p.id, uint32(p.index))
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: log.PrefixEnd(prefix)})
	if err != nil {
		return nil, p.wrap(-1, err)
	}
	defer it.Close()
	states := map[int64]producerState{}
	cutoff := p.now().Add(-p.producerExpiry).UnixMilli()
	wb := p.db.NewBatch()
	defer wb.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		st, ok := decodeProducerState(it.Value())
		if !ok || len(k) != len(prefix)+8 {
			return nil, p.wrap(-1, fmt.Errorf("%w: producer state %x", ErrCorruptStorage, k))
		}
		if st.lastUsed < cutoff {
			if err := wb.Delete(k, nil); err != nil {
				return nil, p.wrap(-1, err)
			}
			continue
		}
		states[int64(binary.BigEndian.Uint64(k[len(prefix):]))] = st
	}
	if err := it.Error(); err != nil {
		return nil, p.wrap(-1, err)
	}
	if !wb.Empty() {
		if err := p.db.Apply(wb, pebble.NoSync); err != nil {
			return nil, p.wrap(-1, err)
		}
	}
	return states, nil
}

// expireProducers drops the states of producers idle past the expiry,
// in memory and in Pebble, as loadProducers does at Open: a partition
// that runs for long would otherwise keep the state of every producer id
// it ever saw. It looks at most once every tenth of the expiry. mu is
// held.
func (p *Partition) expireProducers(now int64) {
	if now < p.mu.sweepAt {
		return
	}
	expiry := p.producerExpiry.Milliseconds()
	p.mu.sweepAt = now + max(expiry/10, 1)
	cutoff := now - expiry
	var wb *pebble.Batch
	for id, st := range p.mu.producers {
		if st.lastUsed >= cutoff {
			continue
		}
		if wb == nil {
			wb = p.db.NewBatch()
			defer wb.Close()
		}
		var key [producerKeyLen]byte
		if err := wb.Delete(p.producerKey(key[:0], id), nil); err != nil {
			return
		}
		delete(p.mu.producers, id)
	}
	if wb != nil {
		// Not synced: a state the crash brings back is dropped at Open.
		_ = p.db.Apply(wb, pebble.NoSync)
	}
}
