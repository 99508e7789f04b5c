package compaction

import (
	"context"
	"time"
)

// Retention is a topic's delete policy.
type Retention struct {
	// Time drops batches whose max timestamp is older than now minus Time
	// (retention.ms); negative keeps them forever.
	Time time.Duration
	// Bytes drops the oldest batches while the ones after them hold at
	// least Bytes (retention.bytes, per partition); negative means no
	// limit.
	Bytes int64
}

// Retain applies r to l at time now: it finds the first batch to keep by
// time (one time index seek) and by size (a walk over size chunks), and
// deletes everything before the later of the two with one range deletion.
// Its cost does not grow with the number of records deleted. It returns
// the log start afterwards.
func Retain(ctx context.Context, l Retainer, r Retention, now time.Time) (int64, error) {
	start := l.LogStart()
	cut := start
	if r.Time >= 0 {
		c, err := l.BaseAtTime(now.Add(-r.Time))
		if err != nil {
			return start, err
		}
		cut = max(cut, c)
	}
	if r.Bytes >= 0 {
		c, err := l.RetentionCut(r.Bytes)
		if err != nil {
			return start, err
		}
		cut = max(cut, c)
	}
	if cut <= start {
		return start, nil
	}
	if err := l.DeleteRecords(ctx, cut); err != nil {
		return start, err
	}
	return cut, nil
}
