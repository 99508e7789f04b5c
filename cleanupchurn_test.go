package cairn_test

import (
	"runtime"
	"testing"
	"weak"

	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestCleanupForgetsRecreatedTopicPartitions: the cleanup's per-partition
// bookkeeping must let go of a deleted topic's partitions even when a
// topic of the same name was created again, or a test suite or service
// that recreates its topics keeps every old incarnation in memory.
func TestCleanupForgetsRecreatedTopicPartitions(t *testing.T) {
	b := openClean(t, vfs.NewMem(), newClock(), nil)
	defer b.Close()
	var old []weak.Pointer[partition.Partition]
	for range 3 {
		require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted()))
		for _, v := range []string{"a", "b", "c"} {
			_, err := b.Append(ctx, "tbl", 0, kv("k", v))
			require.NoError(t, err)
		}
		require.NoError(t, b.DeleteRecords(ctx, "tbl", 0, 2)) // the cleanup notes the new log start
		require.NoError(t, b.Cleanup(ctx))
		p, err := b.Partition("tbl", 0)
		require.NoError(t, err)
		old = append(old, weak.Make(p))
		require.NoError(t, b.DeleteTopic(ctx, "tbl"))
	}
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted()))
	require.NoError(t, b.Cleanup(ctx))
	runtime.GC()
	for i, w := range old {
		require.True(t, w.Value() == nil, "incarnation %d of the topic is still referenced", i)
	}
}
