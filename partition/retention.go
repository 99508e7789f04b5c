package partition

import "github.com/cockroachdb/pebble/v2"

// dropTimeEntries deletes, in wb, the time index entries that can only
// name batches below before, with one range deletion, and returns where
// it ended, for DeleteRecords to note in mu once wb is applied. Entries
// rise in both time and offset, and the batch X that holds before (or
// the first after) has max timestamp m: entries below m name batches
// before X, while X's own entry (if it has one) and later ones are at m
// or above. A few stale entries at or above m may stay; OffsetForTime
// skips them. mu is held.
//
// The deletion starts where the last one ended, not at the index's
// start: range deletions over the same keys pile up, and every read
// walks them all. After 2,000 calls each starting at the first key, a
// lookup by time took 11 ms (BenchmarkReadAfterDeleteRecords).
func (p *Partition) dropTimeEntries(wb *pebble.Batch, before int64) (int64, error) {
	upto := p.mu.maxTime // no batch left: keep only the newest entry
	bs, err := p.batches(before, p.mu.next, 0)
	if err != nil {
		return 0, err
	}
	if len(bs) > 0 {
		upto = bs[0].MaxTimestamp().UnixMilli()
	}
	if upto <= p.mu.timeDropped {
		return p.mu.timeDropped, nil // nothing below upto is left
	}
	if err := wb.DeleteRange(p.timeKey(p.mu.timeDropped), p.timeKey(upto), nil); err != nil {
		return 0, p.wrap(before, err)
	}
	return upto, nil
}
