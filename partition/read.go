package partition

import (
	"encoding/binary"
	"fmt"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

// Fetch is the result of a read: whole stored batches, in offset order, and
// the partition's watermarks when the read began.
type Fetch struct {
	// Batches hold the requested offset and what follows. The first batch
	// may start before the requested offset; Records skips those.
	Batches       []log.Batch
	LogStart      int64
	HighWatermark int64
}

// Bytes returns the total size of the fetched batches.
func (f *Fetch) Bytes() int {
	n := 0
	for _, b := range f.Batches {
		n += b.Len()
	}
	return n
}

// Records decodes the fetched batches into one slice sized up front (one
// allocation, not a doubling series), dropping the records below from:
// only the first batch can start before it. next is the offset after the
// last batch, past any gap a cleaner left at its end. If a batch does not
// decode, next is that batch's base offset. Topic and Partition are left
// for the caller to set.
func (f *Fetch) Records(from int64) (recs []log.Record, next int64, err error) {
	n := 0
	for _, b := range f.Batches {
		n += b.NumRecords()
	}
	recs = make([]log.Record, 0, n)
	next = from
	for _, b := range f.Batches {
		if recs, err = b.Records(recs); err != nil {
			return nil, b.BaseOffset(), err
		}
		next = b.LastOffset() + 1
	}
	i := 0
	for i < len(recs) && recs[i].Offset < from {
		i++
	}
	return recs[i:], next, nil
}

// Read returns the stored batches that hold offset and the ones after it,
// up to maxBytes in total but always at least one batch when offset is
// below the high watermark, so a reader always makes progress. Reading at
// the high watermark returns no batches; outside [log start, high
// watermark] it returns an *OffsetError. It takes no lock shared with
// appends, and each read is one Pebble seek.
func (p *Partition) Read(offset int64, maxBytes int) (Fetch, error) {
	if maxBytes < 0 {
		return Fetch{}, p.wrap(offset, fmt.Errorf("%w: negative max bytes %d", ErrInvalidArgument, maxBytes))
	}
	if err := p.enter(); err != nil {
		return Fetch{}, err
	}
	defer p.life.RUnlock()
	f := Fetch{LogStart: p.logStart.Load(), HighWatermark: p.hwm.Load()}
	if offset < f.LogStart || offset > f.HighWatermark {
		return f, &OffsetError{Topic: p.topic, Partition: p.index, Offset: offset,
			LogStart: f.LogStart, HighWatermark: f.HighWatermark}
	}
	if offset == f.HighWatermark {
		return f, nil
	}
	bounds := make([]byte, 0, 2*log.DataKeyLen) // one allocation for both
	lower := log.DataKey(bounds, p.id, uint32(p.index), offset)
	upper := log.DataKey(lower[len(lower):], p.id, uint32(p.index), f.HighWatermark)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return f, p.wrap(offset, err)
	}
	defer it.Close()
	total := 0
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return f, p.wrap(offset, err)
		}
		if len(f.Batches) > 0 && total+len(v) > maxBytes {
			break
		}
		b, err := p.parseStored(it.Key(), v)
		if err != nil {
			return f, err
		}
		f.Batches = append(f.Batches, b)
		total += b.Len()
	}
	if err := it.Error(); err != nil {
		return f, p.wrap(offset, err)
	}
	return f, nil
}

// parseStored copies a stored batch out of the iterator and checks it
// against its key.
func (p *Partition) parseStored(key, v []byte) (log.Batch, error) {
	last, _ := log.DataKeyOffset(key)
	b, err := log.Parse(append([]byte(nil), v...))
	if err == nil && b.LastOffset() != last {
		err = fmt.Errorf("%w: batch ends at %d under key for %d", log.ErrCorruptBatch, b.LastOffset(), last)
	}
	if err != nil {
		return log.Batch{}, p.wrap(last, corruptError{err})
	}
	return b, nil
}

// ReadRecords reads like Read and decodes the batches, dropping records
// below offset. It returns at least one record when offset is below the
// high watermark and maxBytes allows a batch.
// Batches a cleaner emptied past offset are skipped, so a reader at a gap
// still gets the next records.
func (p *Partition) ReadRecords(offset int64, maxBytes int) ([]log.Record, error) {
	for {
		recs, next, err := p.readRecords(offset, maxBytes)
		if err != nil || len(recs) > 0 || next <= offset || next >= p.hwm.Load() {
			return recs, err
		}
		offset = next
	}
}

// readRecords is one read of ReadRecords; next is the offset after the
// last batch read.
func (p *Partition) readRecords(offset int64, maxBytes int) ([]log.Record, int64, error) {
	f, err := p.Read(offset, maxBytes)
	if err != nil {
		return nil, offset, err
	}
	recs, next, err := f.Records(offset)
	if err != nil {
		return nil, offset, p.wrap(next, corruptError{err})
	}
	for i := range recs {
		recs[i].Topic, recs[i].Partition = p.topic, p.index
	}
	return recs, next, nil
}

func putInt64(b []byte, v int64) { binary.BigEndian.PutUint64(b, uint64(v)) }
