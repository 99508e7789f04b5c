package partition

import "github.com/cockroachdb/pebble/v2"

// dropTimeEntries deletes, in wb, the time index entries that can only
// name batches below before, with one range deletion. Entries rise in both
// time and offset, and the batch X that holds before (or the first after)
// has max timestamp m: entries below m name batches before X, while X's own
// entry (if it has one) and later ones are at m or above. A few stale
// entries at or above m may stay; OffsetForTime skips them. mu is held.
func (p *Partition) dropTimeEntries(wb *pebble.Batch, before int64) error {
	upto := p.mu.maxTime // no batch left: keep only the newest entry
	bs, err := p.batches(before, p.mu.next, 0)
	if err != nil {
		return err
	}
	if len(bs) > 0 {
		upto = bs[0].MaxTimestamp().UnixMilli()
	}
	if err := wb.DeleteRange(p.timePrefix(), p.timeKey(upto), nil); err != nil {
		return p.wrap(before, err)
	}
	return nil
}
