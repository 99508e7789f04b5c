package partition

import (
	"encoding/binary"
	"fmt"
	"slices"

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
	return f.AppendRecords(nil, from)
}

// AppendRecords is Records appending to dst (grown to fit if needed), for
// a caller that decodes into one slice from fetch to fetch. On error it
// returns dst as it was.
func (f *Fetch) AppendRecords(dst []log.Record, from int64) (recs []log.Record, next int64, err error) {
	n := 0
	for _, b := range f.Batches {
		n += b.NumRecords()
	}
	start := len(dst)
	recs = slices.Grow(dst, n)
	next = from
	for i, b := range f.Batches {
		if recs, err = b.Records(recs); err != nil {
			clear(recs[start:])
			return recs[:start], b.BaseOffset(), err
		}
		next = b.LastOffset() + 1
		if i == 0 { // drop what lies below from
			k := start
			for k < len(recs) && recs[k].Offset < from {
				k++
			}
			if k > start {
				recs = append(recs[:start], recs[k:]...)
			}
		}
	}
	return recs, next, nil
}

// Read returns the stored batches that hold offset and the ones after it,
// up to maxBytes in total but always at least one batch when offset is
// below the high watermark, so a reader always makes progress. Reading at
// the high watermark returns no batches; outside [log start, high
// watermark] it returns an *OffsetError. It takes no lock shared with
// appends, and each read is one Pebble seek. Each batch is copied out of
// Pebble into memory of its own.
func (p *Partition) Read(offset int64, maxBytes int) (Fetch, error) {
	f, _, err := p.read(nil, false, offset, maxBytes)
	return f, err
}

// ReadInto is Read copying the batches into buf's spare capacity instead
// of fresh memory, for a reader that reuses one buffer from read to read
// (the consumer's Fetches.Recycle). It returns the buffer to reuse next
// time: buf extended by the copied batches, or, when they did not fit,
// the last of the larger buffers it moved on to, holding the batches
// copied since. A batch is never moved once copied, so the Fetch may use
// buf and every buffer in between; only the returned one is worth
// keeping. The fetched batches alias the buffers until they are reused.
func (p *Partition) ReadInto(buf []byte, offset int64, maxBytes int) (Fetch, []byte, error) {
	return p.read(buf, true, offset, maxBytes)
}

func (p *Partition) read(buf []byte, into bool, offset int64, maxBytes int) (Fetch, []byte, error) {
	if maxBytes < 0 {
		return Fetch{}, buf, p.wrap(offset, fmt.Errorf("%w: negative max bytes %d", ErrInvalidArgument, maxBytes))
	}
	if err := p.enter(); err != nil {
		return Fetch{}, buf, err
	}
	defer p.life.RUnlock()
	f := Fetch{LogStart: p.logStart.Load(), HighWatermark: p.hwm.Load()}
	if offset < f.LogStart || offset > f.HighWatermark {
		return f, buf, &OffsetError{Topic: p.topic, Partition: p.index, Offset: offset,
			LogStart: f.LogStart, HighWatermark: f.HighWatermark}
	}
	if offset == f.HighWatermark {
		return f, buf, nil
	}
	bounds := make([]byte, 0, 2*log.DataKeyLen) // one allocation for both
	lower := log.DataKey(bounds, p.id, uint32(p.index), offset)
	upper := log.DataKey(lower[len(lower):], p.id, uint32(p.index), f.HighWatermark)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return f, buf, p.wrap(offset, err)
	}
	defer it.Close()
	if start := p.logStart.Load(); offset < start {
		// DeleteRecords moved the log start (before deleting) since it
		// was read: the iterator may not see the batches at offset.
		return Fetch{LogStart: start, HighWatermark: f.HighWatermark}, buf, &OffsetError{Topic: p.topic,
			Partition: p.index, Offset: offset, LogStart: start, HighWatermark: f.HighWatermark}
	}
	total := 0
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return f, buf, p.wrap(offset, err)
		}
		if len(f.Batches) > 0 && total+len(v) > maxBytes {
			break
		}
		var b log.Batch
		if into {
			if cap(buf)-len(buf) < len(v) {
				// A new, larger buffer rather than append's grow, which
				// would copy the batches already in buf for nothing:
				// they stay where they are.
				buf = make([]byte, 0, max(2*cap(buf), 2*len(v)))
			}
			n := len(buf)
			buf = append(buf, v...)
			b, err = p.checkStored(it.Key(), buf[n:len(buf):len(buf)])
		} else {
			b, err = p.parseStored(it.Key(), v)
		}
		if err != nil {
			return f, buf, err
		}
		f.Batches = append(f.Batches, b)
		total += b.Len()
	}
	if err := it.Error(); err != nil {
		return f, buf, p.wrap(offset, err)
	}
	return f, buf, nil
}

// parseStored copies a stored batch out of the iterator (or Get) and
// checks it against its key: v is Pebble's memory, valid only until the
// iterator moves.
func (p *Partition) parseStored(key, v []byte) (log.Batch, error) {
	return p.checkStored(key, append([]byte(nil), v...))
}

// checkStored parses a batch already copied out of Pebble and checks it
// against its key.
func (p *Partition) checkStored(key, stored []byte) (log.Batch, error) {
	last, _ := log.DataKeyOffset(key)
	b, err := log.Parse(stored)
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
