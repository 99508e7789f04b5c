package partition

import (
	"sort"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

// The partition's size is tracked in memory in chunks of consecutive
// batches of about chunkBytes each, so that the bytes below an offset (for
// retention.bytes, DeleteRecords and the cleaner's dirty ratio) cost a walk
// over chunks plus a keys-only scan of at most one chunk, whatever the
// number of records involved. Chunks are rebuilt on Open by a keys-only
// scan that reads value lengths without fetching the values.
const chunkBytes = 1 << 20

// chunk covers the batches after the previous chunk up to and including
// the one whose last offset is last.
type chunk struct{ last, bytes int64 }

// sizes is guarded by Partition.mu.
type sizes struct {
	chunks []chunk
	total  int64
}

// add counts an appended batch.
func (s *sizes) add(last int64, n int) {
	if k := len(s.chunks); k == 0 || s.chunks[k-1].bytes >= chunkBytes {
		s.chunks = append(s.chunks, chunk{last: last})
	}
	c := &s.chunks[len(s.chunks)-1]
	c.last = last
	c.bytes += int64(n)
	s.total += int64(n)
}

// adjust counts a batch ending at last that changed size by delta.
func (s *sizes) adjust(last int64, delta int) {
	i := sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].last >= last })
	if i < len(s.chunks) {
		s.chunks[i].bytes += int64(delta)
		s.total += int64(delta)
	}
}

// dropBelow forgets the batches whose last offset is below before; partial
// is what the chunk that holds before lost (see bytesBelow).
func (s *sizes) dropBelow(before, partial int64) {
	i := 0
	for i < len(s.chunks) && s.chunks[i].last < before {
		s.total -= s.chunks[i].bytes
		i++
	}
	s.chunks = s.chunks[i:]
	if len(s.chunks) > 0 {
		s.chunks[0].bytes -= partial
		s.total -= partial
	}
}

// start returns the first offset chunk i may cover.
func (s *sizes) start(i int) int64 {
	if i == 0 {
		return 0
	}
	return s.chunks[i-1].last + 1
}

// bytesBelow returns the bytes of the batches whose last offset is below
// offset, split into whole chunks and the part of the chunk that holds
// offset. mu is held.
func (p *Partition) bytesBelow(offset int64) (whole, partial int64, err error) {
	s := &p.mu.sizes
	i := 0
	for ; i < len(s.chunks) && s.chunks[i].last < offset; i++ {
		whole += s.chunks[i].bytes
	}
	if i == len(s.chunks) {
		return whole, 0, nil
	}
	err = p.scanSizes(s.start(i), offset, func(_ int64, n int) bool {
		partial += int64(n)
		return true
	})
	return whole, partial, err
}

// scanSizes calls fn with the last offset and size of each stored batch
// whose last offset is in [from, to), reading keys and value lengths only,
// until fn returns false.
func (p *Partition) scanSizes(from, to int64, fn func(last int64, n int) bool) error {
	if from >= to {
		return nil
	}
	it, err := p.db.NewIter(&pebble.IterOptions{
		LowerBound: log.DataKey(nil, p.id, uint32(p.index), from),
		UpperBound: log.DataKey(nil, p.id, uint32(p.index), to),
	})
	if err != nil {
		return p.wrap(from, err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		last, _ := log.DataKeyOffset(it.Key())
		lv := it.LazyValue()
		if !fn(last, lv.Len()) {
			break
		}
	}
	return p.wrapNil(it.Error())
}

// loadSizes builds the chunks from the stored batches. mu need not be held:
// the partition is not shared yet.
func (p *Partition) loadSizes() error {
	return p.scanSizes(0, 1<<63-1, func(last int64, n int) bool {
		p.mu.sizes.add(last, n)
		return true
	})
}

// Size returns the bytes of the partition's stored batches, the size that
// retention.bytes bounds.
func (p *Partition) Size() int64 { return p.size.Load() }

// SizeBetween returns the bytes of the stored batches whose last offset is
// in [from, to).
func (p *Partition) SizeBetween(from, to int64) (int64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	defer p.life.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	a, b, err := p.bytesBelow(from)
	if err != nil {
		return 0, err
	}
	c, d, err := p.bytesBelow(to)
	return max(0, c+d-a-b), err
}

// RetentionCut returns the offset to delete before so that the partition
// keeps at most limit bytes, dropping only whole batches from the oldest:
// a batch goes when the batches after it hold at least limit bytes, as
// Kafka's retention.bytes drops segments. It returns the log start when
// nothing need go.
func (p *Partition) RetentionCut(limit int64) (int64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	defer p.life.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.mu.sizes
	before := p.logStart.Load()
	if s.total <= limit {
		return before, nil
	}
	cum, i := int64(0), 0
	for ; i < len(s.chunks) && s.total-(cum+s.chunks[i].bytes) >= limit; i++ {
		cum += s.chunks[i].bytes
		before = max(before, s.chunks[i].last+1)
	}
	if i == len(s.chunks) {
		return min(before, p.hwm.Load()), nil
	}
	err := p.scanSizes(s.start(i), s.chunks[i].last+1, func(last int64, n int) bool {
		if s.total-(cum+int64(n)) < limit {
			return false
		}
		cum += int64(n)
		before = max(before, last+1)
		return true
	})
	// A synced append counts before it is published; never cut past it.
	return min(before, p.hwm.Load()), err
}
