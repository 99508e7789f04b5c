package compaction_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/stretchr/testify/require"
)

// TestRetentionAfterCleanUsesKeptTimestamps: once the cleaner removed the
// newest record of a batch, retention.ms goes by the records the batch
// still holds, as Kafka's cleaner rebuilds a batch with the max timestamp
// of its retained records (MemoryRecords.filterTo). Cairn keeps the old
// header max timestamp, so a batch holding only a 30-day-old record is
// kept by a 7-day retention, and every batch after it with it.
func TestRetentionAfterCleanUsesKeptTimestamps(t *testing.T) {
	p := newPartition(t)
	now := time.UnixMilli(1_700_000_000_000)
	old := now.Add(-30 * 24 * time.Hour)
	_, err := p.Append(ctx, []log.Record{
		{Key: []byte("a"), Value: []byte("1"), Timestamp: old},
		{Key: []byte("b"), Value: []byte("1"), Timestamp: now.Add(-time.Hour)},
	})
	require.NoError(t, err)
	_, err = p.Append(ctx, []log.Record{{Key: []byte("b"), Value: []byte("2"), Timestamp: old}})
	require.NoError(t, err)
	_, err = p.Append(ctx, []log.Record{{Key: []byte("c"), Value: []byte("1"), Timestamp: now}})
	require.NoError(t, err)

	_, err = compaction.NewCleaner(compaction.Options{}).Clean(ctx, p, compaction.Policy{}, now)
	require.NoError(t, err)
	recs := dump(t, p)
	require.Len(t, recs, 3) // a@0 and b@2, both 30 days old, and the tail c@3
	require.Equal(t, old.UnixMilli(), recs[0].Timestamp.UnixMilli())
	require.Equal(t, old.UnixMilli(), recs[1].Timestamp.UnixMilli())

	start, err := compaction.Retain(ctx, p, compaction.Retention{Time: 7 * 24 * time.Hour, Bytes: -1}, now)
	require.NoError(t, err)
	require.Equal(t, int64(3), start, "records 0 and 2 are 30 days old: retention.ms=7d must delete them")
}
