package partition

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

// The time index has an entry for each batch whose max timestamp is above
// every earlier batch's: x|topic|partition|maxTimestamp -> its last offset.
// Entries therefore rise in both timestamp and offset, and the first entry
// at or after a time T names the first batch that can hold a record at or
// after T: every batch before it (back to the previous entry) has a max
// timestamp below T.

func (p *Partition) timeKey(ts int64) []byte {
	k := log.PartitionPrefix(nil, log.PrefixTime, p.id, uint32(p.index))
	// Flipping the sign bit makes negative times sort first.
	return binary.BigEndian.AppendUint64(k, uint64(ts)^(1<<63))
}

// unixMilli is t.UnixMilli, clamped to the int64 range: a time past
// year 292,278,994 (or before -292,275,055) has no millisecond count,
// and UnixMilli's wrapped one made a lookup of the far future answer the
// log's first record.
func unixMilli(t time.Time) int64 {
	switch {
	case log.InMilliRange(t):
		return t.UnixMilli()
	case t.Unix() > 0:
		return math.MaxInt64
	}
	return math.MinInt64
}

func (p *Partition) timePrefix() []byte {
	return log.PartitionPrefix(nil, log.PrefixTime, p.id, uint32(p.index))
}

// loadMaxTime returns the largest indexed timestamp, or MinInt64.
func (p *Partition) loadMaxTime() (int64, error) {
	prefix := p.timePrefix()
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: log.PrefixEnd(prefix)})
	if err != nil {
		return 0, p.wrap(-1, err)
	}
	defer it.Close()
	if !it.Last() {
		return math.MinInt64, p.wrapNil(it.Error())
	}
	return int64(binary.BigEndian.Uint64(it.Key()[len(prefix):]) ^ (1 << 63)), nil
}

func (p *Partition) wrapNil(err error) error {
	if err == nil {
		return nil
	}
	return p.wrap(-1, err)
}

// indexTime adds b's entry to the time index in wb when it raises the max
// timestamp. mu is held; the caller sets p.mu.maxTime after the write.
func (p *Partition) indexTime(wb *pebble.Batch, maxTS, last int64) error {
	if maxTS <= p.mu.maxTime {
		return nil
	}
	var v [8]byte
	putInt64(v[:], last)
	return wb.Set(p.timeKey(maxTS), v[:], nil)
}

// OffsetForTime returns the offset of the first readable record whose
// timestamp is at or after t, as Kafka's ListOffsets by timestamp. ok is
// false when no record is that recent; offset is then the high watermark.
// It is one index seek and one batch decode, not a scan, except when t
// falls in a range retention removed.
func (p *Partition) OffsetForTime(t time.Time) (offset int64, ok bool, err error) {
	for {
		offset, ok, err = p.offsetForTime(t)
		if err != errLogStartMoved {
			return offset, ok, err
		}
	}
}

// errLogStartMoved reports that retention or DeleteRecords moved the log
// start past the batches offsetForTime found in the time index before it
// read them: it looks again (each retry follows a move of the log start,
// which cannot move past the high watermark). Answering the Read's
// *OffsetError failed a caller that passed no offset at all.
var errLogStartMoved = errors.New("log start moved")

func (p *Partition) offsetForTime(t time.Time) (offset int64, ok bool, err error) {
	if err := p.enter(); err != nil {
		return 0, false, err
	}
	target := unixMilli(t)
	logStart, hwm := p.logStart.Load(), p.hwm.Load()
	prefix := p.timePrefix()
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: log.PrefixEnd(prefix)})
	if err != nil {
		p.life.RUnlock()
		return 0, false, p.wrap(-1, err)
	}
	from, stale := int64(-1), false
	for valid := it.SeekGE(p.timeKey(target)); valid; valid = it.Next() {
		last := int64(binary.BigEndian.Uint64(it.Value()))
		if last >= hwm {
			break // not yet visible
		}
		if last >= logStart {
			from = last
			break
		}
		stale = true // that batch was deleted; later ones may qualify
	}
	err = it.Error()
	it.Close()
	p.life.RUnlock()
	if err != nil {
		return 0, false, p.wrap(-1, err)
	}
	if offsetForTimeHook != nil {
		offsetForTimeHook()
	}
	if from < 0 && !stale {
		return hwm, false, nil
	}
	start := from
	if stale {
		start = logStart
	}
	return p.scanForTime(start, from, target, logStart, hwm)
}

// offsetForTimeHook, set by tests, runs in OffsetForTime between the
// index seek and the scan of the batches it names: where retention or
// DeleteRecords may move the log start past them.
var offsetForTimeHook func()

// scanForTime returns the first record not below the log start, in the
// batches from the one holding start to the one holding until (or to the
// high watermark if until < 0), with a timestamp at or after target.
func (p *Partition) scanForTime(start, until, target, logStart, hwm int64) (int64, bool, error) {
	for off := start; off < hwm && (until < 0 || off <= until); {
		f, err := p.Read(off, 0) // one batch
		if oe := (*OffsetError)(nil); errors.As(err, &oe) && off < oe.LogStart {
			return 0, false, errLogStartMoved
		}
		if err != nil || len(f.Batches) == 0 {
			return 0, false, err
		}
		b := f.Batches[0]
		if b.MaxTimestamp().UnixMilli() >= target {
			recs, err := b.Records(nil)
			if err != nil {
				return 0, false, p.wrap(b.BaseOffset(), corruptError{err})
			}
			for _, r := range recs {
				if r.Offset >= logStart && r.Timestamp.UnixMilli() >= target {
					return r.Offset, true, nil
				}
			}
		}
		off = b.LastOffset() + 1
	}
	if until < 0 {
		return hwm, false, nil
	}
	// The cleaner may have removed the records that made the named batch
	// reach target (the entry keeps the max timestamp the batch had when
	// appended; log.Batch.Filter lowers the batch's own) or the whole batch:
	// the answer is further on.
	return p.scanForTime(until+1, -1, target, logStart, hwm)
}
