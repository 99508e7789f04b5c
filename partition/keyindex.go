package partition

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

// A compacted partition (Config.Compacted) keeps a key index beside its
// log: k|topicID|partition|key -> offset of the key's latest record. It is
// written in the same Pebble batch as the append that moves it, and the
// cleaner deletes an entry in the same batch as the tombstone it expires,
// so the index and the log agree after any crash.

var (
	// ErrKeyRequired reports a record without a key appended to a
	// compacted topic, as Kafka's "Compacted topic cannot accept message
	// without key". The whole batch is refused.
	ErrKeyRequired = errors.New("cairn: compacted topic requires a record key")
	// ErrKeyNotFound reports a Get of a key that has no record, or whose
	// latest record is a tombstone.
	ErrKeyNotFound = errors.New("cairn: key not found")
)

func (p *Partition) indexKey(key []byte) []byte {
	k := log.PartitionPrefix(make([]byte, 0, 9+len(key)), log.PrefixKey, p.id, uint32(p.index))
	return append(k, key...)
}

// recordKeys returns recs' keys for the index, or ErrKeyRequired if one is
// missing.
func recordKeys(recs []log.Record) ([][]byte, error) {
	keys := make([][]byte, len(recs))
	for i := range recs {
		if recs[i].Key == nil {
			return nil, fmt.Errorf("%w: record %d of the batch has none", ErrKeyRequired, i)
		}
		keys[i] = recs[i].Key
	}
	return keys, nil
}

// indexKeys adds the batch's keys (record i at base+i) to wb; mu is held.
func (p *Partition) indexKeys(wb *pebble.Batch, keys [][]byte, base int64) error {
	var v [8]byte
	for i, k := range keys {
		putInt64(v[:], base+int64(i))
		if err := wb.Set(p.indexKey(k), v[:], nil); err != nil {
			return err
		}
	}
	return nil
}

// Get returns the latest record of key in a compacted partition with one
// index lookup and one batch read, or ErrKeyNotFound when the key has no
// record or its latest is a tombstone (nil value). A record appended but
// not yet acknowledged is waited for, so a Get after an append sees it.
func (p *Partition) Get(ctx context.Context, key []byte) (log.Record, error) {
	if !p.cfg.Load().Compacted {
		return log.Record{}, p.wrap(-1, fmt.Errorf("%w: Get needs a compacted topic (cleanup.policy=compact)", ErrInvalidArgument))
	}
	off, err := p.lookup(key)
	if getHook != nil {
		getHook()
	}
	for err == nil {
		r, gone, rerr := p.recordAt(ctx, off)
		if rerr != nil || !gone {
			return r, rerr
		}
		// The record is no longer stored: the cleaner removed it because a
		// newer record of the key superseded it after the lookup, or
		// retention removed it. The index names the newer record, if any;
		// the same offset again means the key has no record left.
		prev := off
		if off, err = p.lookup(key); err == nil && off == prev {
			return log.Record{}, ErrKeyNotFound
		}
	}
	return log.Record{}, err
}

// getHook, set by tests, runs in Get between the key's first lookup and
// the read of the record it names: where the cleaner may remove it.
var getHook func()

// recordAt returns the record at off, or ErrKeyNotFound if it is a
// tombstone; gone is true if no record at off is stored any more.
func (p *Partition) recordAt(ctx context.Context, off int64) (r log.Record, gone bool, err error) {
	if err := p.waitVisible(ctx, off); err != nil {
		return log.Record{}, false, err
	}
	f, err := p.Read(off, 0)
	if errors.Is(err, ErrOffsetOutOfRange) {
		return log.Record{}, true, nil // retention removed it
	}
	if err != nil {
		return log.Record{}, false, err
	}
	for _, b := range f.Batches {
		recs, err := b.Records(nil)
		if err != nil {
			return log.Record{}, false, p.wrap(b.BaseOffset(), corruptError{err})
		}
		for _, r := range recs {
			if r.Offset != off {
				continue
			}
			if r.Value == nil {
				return log.Record{}, false, ErrKeyNotFound // a tombstone
			}
			r.Topic, r.Partition = p.topic, p.index
			return r, false, nil
		}
	}
	// The cleaner removed it (superseded, or an expired tombstone: it
	// deletes the index entry with it).
	return log.Record{}, true, nil
}

// waitVisible is Wait for a record the key index names, so already
// applied: it also returns when the append that owns it failed its fsync
// (the record will never become visible), with that failure.
func (p *Partition) waitVisible(ctx context.Context, off int64) error {
	return p.wait(ctx, off, true)
}

// lookup returns the offset the key index holds for key.
func (p *Partition) lookup(key []byte) (int64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	defer p.life.RUnlock()
	v, closer, err := p.db.Get(p.indexKey(key))
	if err == pebble.ErrNotFound {
		return 0, ErrKeyNotFound
	}
	if err != nil {
		return 0, p.wrap(-1, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, p.wrap(-1, fmt.Errorf("%w: key index entry of %d bytes", ErrCorruptStorage, len(v)))
	}
	off := int64(binary.BigEndian.Uint64(v))
	if off < p.logStart.Load() {
		return 0, ErrKeyNotFound
	}
	return off, nil
}

// staleKeyStep bounds the index entries one step of DropStaleKeys
// examines while it holds the append lock.
const staleKeyStep = 4096

// DropStaleKeys deletes the key index entries that name records below the
// log start, which retention or DeleteRecords removed (their range
// deletion leaves the index alone): without it, a compacted topic with
// retention and ever-new keys grows its index for good. It scans the
// index in small steps, each under the append lock (under which every
// index write is made, so what a step reads is current), and lets Close
// and appends in between steps. It returns how many entries it deleted.
func (p *Partition) DropStaleKeys(ctx context.Context) (int, error) {
	prefix := log.PartitionPrefix(nil, log.PrefixKey, p.id, uint32(p.index))
	from, end := prefix, log.PrefixEnd(prefix)
	dropped := 0
	for from != nil {
		if err := ctx.Err(); err != nil {
			return dropped, err
		}
		var n int
		var err error
		from, n, err = p.dropStaleStep(from, end)
		dropped += n
		if err != nil {
			return dropped, err
		}
	}
	return dropped, nil
}

// dropStaleStep deletes the stale entries among the first staleKeyStep
// from from on, and returns the key to resume at (nil at the end).
func (p *Partition) dropStaleStep(from, end []byte) (next []byte, n int, err error) {
	if err := p.enter(); err != nil {
		return nil, 0, err
	}
	defer p.life.RUnlock()
	wb := p.db.NewBatch()
	defer wb.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	logStart := p.logStart.Load()
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: from, UpperBound: end})
	if err != nil {
		return nil, 0, p.wrap(-1, err)
	}
	defer it.Close()
	seen := 0
	for ok := it.First(); ok; ok = it.Next() {
		if seen == staleKeyStep {
			next = append([]byte(nil), it.Key()...)
			break
		}
		seen++
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, p.wrap(-1, err)
		}
		if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < logStart {
			if err := wb.Delete(it.Key(), nil); err != nil {
				return nil, 0, p.wrap(-1, err)
			}
			n++
		}
	}
	if err := it.Error(); err != nil {
		return nil, 0, p.wrap(-1, err)
	}
	if n > 0 {
		if err := p.db.Apply(wb, pebble.NoSync); err != nil {
			return nil, 0, p.wrap(-1, err)
		}
	}
	return next, n, nil
}
