package partition

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/stretchr/testify/require"
)

// TestBaseAtTimeAfterFutureBatchDeleted: once DeleteRecords removed a
// batch stamped in the future, BaseAtTime must see past the batches left,
// all older than t (retention and min.compaction.lag.ms rely on it).
func TestBaseAtTimeAfterFutureBatchDeleted(t *testing.T) {
	p := newPartition(t, false)
	now := time.UnixMilli(1_700_000_000_000)
	_, err := p.Append(ctx, []log.Record{{Value: []byte("future"), Timestamp: now.Add(365 * 24 * time.Hour)}})
	require.NoError(t, err)
	for i := range 5 {
		_, err := p.Append(ctx, []log.Record{{Value: []byte{byte(i)}, Timestamp: now.Add(time.Duration(i) * time.Second)}})
		require.NoError(t, err)
	}
	require.NoError(t, p.DeleteRecords(ctx, 1))
	got, err := p.BaseAtTime(now.Add(3 * time.Second))
	require.NoError(t, err)
	require.EqualValues(t, 4, got, "first batch at or after t is the one at offset 4")
	got, err = p.BaseAtTime(now.Add(time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 6, got, "every batch left is older")
}
