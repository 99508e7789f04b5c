package partition

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

// What a cleaner (package compaction) needs from a partition: reading
// stored batches in a range, where the clean and cleanable parts end, and
// applying a rewrite step atomically. The partition knows nothing of the
// cleaning policy.

// cleanState is the cleaner's persisted checkpoint and counters, under
// c|topicID|partition: cleanedTo u64 | records u64 | lastMs u64 | passes u64
// | doneAt u64 | markTo u64 | markAt u64 | prevTo u64 | prevAt u64 (the
// last five are absent in a state written before they existed).
type cleanState struct {
	cleanedTo int64 // offsets below were cleaned at least once
	records   int64 // records removed by cleaning, ever
	last      int64 // unix ms of the last step, 0 if none
	passes    int64 // completed passes
	// doneAt is when (unix ms, the cleaner's clock) cleanedTo was set;
	// mark and prev are two earlier checkpoints and when they were set,
	// so that CleanedBefore can tell, in bounded space, which offsets
	// were first cleaned long enough ago.
	doneAt, markTo, markAt, prevTo, prevAt int64
}

func (s cleanState) encode() []byte {
	b := make([]byte, 0, 72)
	for _, v := range []int64{s.cleanedTo, s.records, s.last, s.passes, s.doneAt, s.markTo, s.markAt, s.prevTo, s.prevAt} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	return b
}

// done moves the checkpoint to to at time at (unix ms). The mark moves
// up to it once the mark is older than age, the mark it replaces becoming
// prev: a tombstone is thus known to be cleaned age ago at most about age
// after it was. A mark later than at (the clock stepped back) moves too:
// else it would wait for the clock to catch up, keeping every tombstone
// cleaned meanwhile.
func (s *cleanState) done(to, at, age int64) {
	s.cleanedTo = max(s.cleanedTo, to)
	s.doneAt = at
	if s.markTo == 0 || s.markAt <= at-age || s.markAt > at {
		s.prevTo, s.prevAt = s.markTo, s.markAt
		s.markTo, s.markAt = s.cleanedTo, at
	}
}

// CleanedBefore returns an offset below which every record was first
// cleaned at or before t: a tombstone there has been visible, cleaned,
// since then (it is 0 when none is known to be).
func (p *Partition) CleanedBefore(t time.Time) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ms := p.mu.clean, unixMilli(t)
	switch {
	case s.doneAt <= ms:
		return s.cleanedTo
	case s.markAt <= ms:
		return s.markTo
	case s.prevAt <= ms:
		return s.prevTo
	}
	return 0
}

func (p *Partition) cleanKey() []byte {
	return log.PartitionPrefix(nil, log.PrefixClean, p.id, uint32(p.index))
}

func (p *Partition) loadCleanState() (cleanState, error) {
	v, closer, err := p.db.Get(p.cleanKey())
	if err == pebble.ErrNotFound {
		return cleanState{}, nil
	}
	if err != nil {
		return cleanState{}, p.wrap(-1, err)
	}
	defer closer.Close()
	if len(v) != 32 && len(v) != 72 {
		return cleanState{}, p.wrap(-1, fmt.Errorf("%w: cleaner state of %d bytes", ErrCorruptStorage, len(v)))
	}
	u := func(i int) int64 { return int64(binary.BigEndian.Uint64(v[8*i:])) }
	s := cleanState{cleanedTo: u(0), records: u(1), last: u(2), passes: u(3)}
	if len(v) == 72 {
		s.doneAt, s.markTo, s.markAt, s.prevTo, s.prevAt = u(4), u(5), u(6), u(7), u(8)
	} else {
		// The old form does not say when its records were first cleaned:
		// count them as cleaned now, not long ago, so that their
		// tombstones still stay delete.retention.ms.
		s.doneAt = p.now().UnixMilli()
	}
	return s, nil
}

// Stats are a partition's offsets, size and cleaner counters.
type Stats struct {
	LogStart      int64
	HighWatermark int64
	// Bytes is the size of the stored batches.
	Bytes int64
	// CleanedTo is the cleaner's checkpoint: offsets below it were
	// cleaned at least once (0 for a partition never cleaned).
	CleanedTo int64
	// RecordsCleaned counts the records the cleaner removed, ever.
	RecordsCleaned int64
	// CleanerPasses counts completed cleaning passes.
	CleanerPasses int64
	// LastCleaned is when the cleaner last changed the partition, zero
	// if never.
	LastCleaned time.Time
}

// Stats returns the partition's offsets, size and cleaner counters.
func (p *Partition) Stats() Stats {
	p.mu.Lock()
	cs := p.mu.clean
	p.mu.Unlock()
	s := Stats{LogStart: p.logStart.Load(), HighWatermark: p.hwm.Load(), Bytes: p.size.Load(),
		CleanedTo: cs.cleanedTo, RecordsCleaned: cs.records, CleanerPasses: cs.passes}
	if cs.last != 0 {
		s.LastCleaned = time.UnixMilli(cs.last)
	}
	return s
}

// CleanedTo returns the cleaner's checkpoint, at least the log start.
func (p *Partition) CleanedTo() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.mu.clean.cleanedTo, p.logStart.Load())
}

// TailStart returns the base offset of the last stored batch (the high
// watermark if there is none): the active part a cleaner leaves alone.
func (p *Partition) TailStart() int64 { return min(p.tail.Load(), p.hwm.Load()) }

// Batches returns the stored batches whose last offset is in [from, to),
// from the first, up to maxBytes (at least one if there is one), without
// regard to the log start.
func (p *Partition) Batches(from, to int64, maxBytes int) ([]log.Batch, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.life.RUnlock()
	return p.batches(from, to, maxBytes)
}

// batches is Batches for a caller inside enter.
func (p *Partition) batches(from, to int64, maxBytes int) ([]log.Batch, error) {
	if from >= to {
		return nil, nil
	}
	it, err := p.db.NewIter(&pebble.IterOptions{
		LowerBound: log.DataKey(nil, p.id, uint32(p.index), from),
		UpperBound: log.DataKey(nil, p.id, uint32(p.index), to),
	})
	if err != nil {
		return nil, p.wrap(from, err)
	}
	defer it.Close()
	var out []log.Batch
	total := 0
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, p.wrap(from, err)
		}
		if len(out) > 0 && total+len(v) > maxBytes {
			break
		}
		b, err := p.parseStored(it.Key(), v)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		total += b.Len()
	}
	return out, p.wrapNil(it.Error())
}

// BaseAtTime returns the base offset of the first batch whose max
// timestamp is at or after t (the high watermark if none is), found
// through the time index: every batch below it is older than t. When the
// index cannot tell (its entry names a batch retention or the cleaner
// removed), it scans the batches from there.
func (p *Partition) BaseAtTime(t time.Time) (int64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	defer p.life.RUnlock()
	logStart, hwm := p.logStart.Load(), p.hwm.Load()
	prefix := p.timePrefix()
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: log.PrefixEnd(prefix)})
	if err != nil {
		return 0, p.wrap(-1, err)
	}
	defer it.Close()
	if !it.SeekGE(p.timeKey(unixMilli(t))) {
		return hwm, p.wrapNil(it.Error())
	}
	last := int64(binary.BigEndian.Uint64(it.Value()))
	switch {
	case last >= hwm:
		return hwm, nil
	case last < logStart:
		// The entry names a batch DeleteRecords removed (dropTimeEntries
		// keeps entries at or above the first kept batch's max
		// timestamp): the index cannot tell which kept batch is the
		// first to reach t. Scan for it; it is at or before the batch
		// the next live entry names, so the scan stops there at the
		// latest. Answering the log start instead blocked retention.ms
		// and min.compaction.lag.ms until the wall clock passed the
		// removed batch's timestamp (for good, for a future one).
		return p.scanBaseAtTime(unixMilli(t), logStart, hwm)
	}
	v, closer, err := p.db.Get(log.DataKey(nil, p.id, uint32(p.index), last))
	if err == pebble.ErrNotFound {
		// The cleaner emptied and removed that batch: the batches after
		// it up to the next entry's may still be older than t. Answering
		// last+1 kept them (for good behind a batch stamped in the
		// future); scan for the first that is not.
		return p.scanBaseAtTime(unixMilli(t), max(last+1, logStart), hwm)
	}
	if err != nil {
		return 0, p.wrap(last, err)
	}
	defer closer.Close()
	b, err := p.parseStored(log.DataKey(nil, p.id, uint32(p.index), last), v)
	if err != nil {
		return 0, err
	}
	if b.MaxTimestamp().UnixMilli() < unixMilli(t) {
		// The cleaner removed the records that made the batch reach t
		// (log.Batch.Filter lowers a cleaned batch's max timestamp), so
		// the entry's time is the batch's old max: the first batch to
		// reach t is further on, at the next entry's batch at the latest.
		return p.scanBaseAtTime(unixMilli(t), max(b.LastOffset()+1, logStart), hwm)
	}
	return max(b.BaseOffset(), logStart), nil
}

// scanBaseAtTime returns the base offset (at least logStart) of the first
// stored batch from logStart on whose max timestamp is at or after ts,
// or hwm if there is none.
func (p *Partition) scanBaseAtTime(ts, logStart, hwm int64) (int64, error) {
	if logStart >= hwm {
		return hwm, nil
	}
	it, err := p.db.NewIter(&pebble.IterOptions{
		LowerBound: log.DataKey(nil, p.id, uint32(p.index), logStart),
		UpperBound: log.DataKey(nil, p.id, uint32(p.index), hwm),
	})
	if err != nil {
		return 0, p.wrap(logStart, err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, p.wrap(logStart, err)
		}
		b, err := p.checkStored(it.Key(), v) // only its header is used, before the iterator moves
		if err != nil {
			return 0, err
		}
		if b.MaxTimestamp().UnixMilli() >= ts {
			return max(b.BaseOffset(), logStart), nil
		}
	}
	if err := it.Error(); err != nil {
		return 0, p.wrap(logStart, err)
	}
	return hwm, nil
}

// ApplyClean applies one cleaning step in one Pebble batch: it replaces
// or deletes the stored batches (skipping any retention removed since the
// cleaner read them), drops the key index entries of expired tombstones
// that no newer record took over, and moves the cleaner checkpoint. It
// holds the append lock while it applies, so it stays consistent with
// appends and DeleteRecords; a step should be small (about a megabyte).
// The step is not fsynced on its own: losing it in a crash leaves the log
// as it was, and any later synced write makes it durable.
func (p *Partition) ApplyClean(ctx context.Context, rw *log.Rewrite) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rw == nil {
		return p.wrap(-1, fmt.Errorf("%w: nil rewrite", ErrInvalidArgument))
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer p.life.RUnlock()
	wb := p.db.NewBatch()
	defer wb.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkRewrite(rw); err != nil {
		return err
	}
	logStart := p.logStart.Load()
	var key [log.DataKeyLen]byte
	for _, r := range rw.Batches {
		if r.Last < logStart {
			continue
		}
		k := log.DataKey(key[:0], p.id, uint32(p.index), r.Last)
		var err error
		if r.Batch == nil {
			err = wb.Delete(k, nil)
		} else {
			err = wb.Set(k, r.Batch, nil)
		}
		if err != nil {
			return p.wrap(r.Last, err)
		}
	}
	if err := p.expireKeys(wb, rw.Expired); err != nil {
		return err
	}
	if err := p.dropCleanedTimeEntries(wb, rw.Batches, logStart); err != nil {
		return err
	}
	st := p.mu.clean
	st.records += rw.Records
	st.last = p.now().UnixMilli()
	if rw.Done {
		st.done(rw.CleanedTo, rw.At.UnixMilli(), rw.MarkAge.Milliseconds())
		st.passes++
	}
	if err := wb.Set(p.cleanKey(), st.encode(), nil); err != nil {
		return p.wrap(-1, err)
	}
	if err := p.db.Apply(wb, pebble.NoSync); err != nil {
		return p.wrap(-1, err)
	}
	p.mu.clean = st
	for _, r := range rw.Batches {
		if r.Last >= logStart {
			p.mu.sizes.adjust(r.Last, len(r.Batch)-r.Old)
		}
	}
	p.size.Store(p.mu.sizes.total)
	return nil
}

// checkRewrite refuses a cleaning step that could not come from a pass
// over this partition: a replacement that is not a valid batch ending at
// the offset it is stored under, one at or past the log end, a checkpoint
// outside the log or negative counts. Applied, such a step stored bytes
// every later read failed on, or moved the checkpoint past the log end
// for good (done keeps the largest), so new records were never cleaned.
// mu is held.
func (p *Partition) checkRewrite(rw *log.Rewrite) error {
	bad := func(off int64, format string, args ...any) error {
		return p.wrap(off, fmt.Errorf("%w: cleaning step: %s", ErrInvalidArgument, fmt.Sprintf(format, args...)))
	}
	end := p.mu.next
	if rw.Records < 0 || rw.MarkAge < 0 {
		return bad(-1, "negative records %d or mark age %v", rw.Records, rw.MarkAge)
	}
	if rw.Done && (rw.CleanedTo < 0 || rw.CleanedTo > end) {
		return bad(rw.CleanedTo, "checkpoint %d outside the log [0, %d]", rw.CleanedTo, end)
	}
	for _, r := range rw.Batches {
		if r.Last < 0 || r.Last >= end || r.Old < 0 {
			return bad(r.Last, "batch ending at %d (old size %d) outside the log [0, %d)", r.Last, r.Old, end)
		}
		if r.Batch == nil {
			continue
		}
		b, err := log.Parse(r.Batch)
		if err != nil {
			return bad(r.Last, "replacement: %v", err)
		}
		if b.LastOffset() != r.Last {
			return bad(r.Last, "replacement ends at %d, not %d", b.LastOffset(), r.Last)
		}
	}
	return nil
}

// expireKeys deletes the index entries of expired tombstones in wb, if
// they still name the tombstone. mu is held, so no append moves them
// meanwhile.
func (p *Partition) expireKeys(wb *pebble.Batch, expired []log.Record) error {
	for _, r := range expired {
		k := p.indexKey(r.Key)
		v, closer, err := p.db.Get(k)
		if err == pebble.ErrNotFound {
			continue
		}
		if err != nil {
			return p.wrap(r.Offset, err)
		}
		same := len(v) == 8 && int64(binary.BigEndian.Uint64(v)) == r.Offset
		closer.Close()
		if same {
			if err := wb.Delete(k, nil); err != nil {
				return p.wrap(r.Offset, err)
			}
		}
	}
	return nil
}

// loadTail sets the base offset of the last stored batch, before end.
func (p *Partition) loadTail(end int64) error {
	p.tail.Store(end)
	if end == 0 {
		return nil
	}
	bs, err := p.batches(end-1, end, 0)
	if err != nil || len(bs) == 0 {
		return err
	}
	p.tail.Store(bs[0].BaseOffset())
	return nil
}

// dropCleanedTimeEntries deletes, in wb, the time index entries of the
// batches the step deletes when that loses nothing: when no batch that
// stays lies between the deleted one and the batch the next entry names
// (or the log end), a seek that found the deleted batch's entry now finds
// the next one, with nothing older than it skipped. Without it, a
// compacted topic kept an entry for every batch ever appended, however
// few batches cleaning left. rs are in offset order; mu is held.
func (p *Partition) dropCleanedTimeEntries(wb *pebble.Batch, rs []log.Replace, logStart int64) (err error) {
	deleted := map[int64]bool{}
	for _, r := range rs {
		if r.Batch == nil {
			deleted[r.Last] = true
		}
	}
	if len(deleted) == 0 {
		return nil
	}
	// One iterator over the time index and one over the batches serve the
	// whole step: the entries of deleted batches rise in both timestamp
	// and offset, so each seek moves forward. (An iterator and a Get per
	// deleted batch, under mu, tripled the cost of cleaning and stalled
	// appends for as long.)
	prefix := p.timePrefix()
	tit, err := p.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: log.PrefixEnd(prefix)})
	if err != nil {
		return p.wrap(-1, err)
	}
	defer func() {
		if cerr := tit.Close(); err == nil && cerr != nil {
			err = p.wrap(-1, cerr)
		}
	}()
	dit, err := p.db.NewIter(&pebble.IterOptions{
		LowerBound: log.DataKey(nil, p.id, uint32(p.index), logStart),
		UpperBound: log.DataKey(nil, p.id, uint32(p.index), p.mu.next),
	})
	if err != nil {
		return p.wrap(-1, err)
	}
	defer func() {
		if cerr := dit.Close(); err == nil && cerr != nil {
			err = p.wrap(-1, cerr)
		}
	}()
	var dkey [log.DataKeyLen]byte
	for _, r := range rs {
		if r.Batch != nil || r.Last < logStart || r.MaxTimestamp.IsZero() {
			continue
		}
		// The batch's entry, if it raised the max timestamp, is under its
		// max timestamp when appended, which an earlier clean may have
		// lowered since (log.Batch.Filter): it is the first entry at or
		// after the batch's max today that names a batch at or after it
		// (entries rise in both time and offset).
		found := false
		for ok := tit.SeekGE(p.timeKey(r.MaxTimestamp.UnixMilli())); ok; ok = tit.Next() {
			v := tit.Value()
			if len(v) != 8 {
				break
			}
			if last := int64(binary.BigEndian.Uint64(v)); last >= r.Last {
				found = last == r.Last
				break
			}
		}
		if err := tit.Error(); err != nil {
			return p.wrap(r.Last, err)
		}
		if !found {
			continue // the batch did not raise the max timestamp
		}
		k := slices.Clone(tit.Key())
		// The batch the next entry names, or the log end.
		next := p.mu.next
		if tit.Next() {
			next = int64(binary.BigEndian.Uint64(tit.Value()))
		} else if err := tit.Error(); err != nil {
			return p.wrap(r.Last, err)
		}
		// Does a batch that stays lie in (r.Last, next)?
		kept := false
		for ok := dit.SeekGE(log.DataKey(dkey[:0], p.id, uint32(p.index), r.Last+1)); ok; ok = dit.Next() {
			last, _ := log.DataKeyOffset(dit.Key())
			if last >= next {
				break
			}
			if !deleted[last] {
				kept = true
				break
			}
		}
		if err := dit.Error(); err != nil {
			return p.wrap(r.Last, err)
		}
		if !kept {
			if err := wb.Delete(k, nil); err != nil {
				return p.wrap(r.Last, err)
			}
		}
	}
	return nil
}
