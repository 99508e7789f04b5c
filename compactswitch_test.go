package cairn_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// An append in flight (stored, its fsync not yet waited for) when
// cleanup.policy becomes compact is not in the key index: the switch's
// "no records yet" check looks at the high watermark only. Get then
// misses a key whose record is in the topic.
func TestCompactSwitchRacesInFlightAppend(t *testing.T) {
	b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1}) // SyncAlways
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	bt, err := log.Build([]log.Record{{Key: []byte("k"), Value: []byte("v")}}, log.None, nil, time.Now())
	require.NoError(t, err)
	_, wait, err := b.AppendBatchAsync(ctx, "t", 0, bt.Bytes())
	require.NoError(t, err)
	alterErr := b.AlterTopicConfig(ctx, "t", cairn.TopicConfig{"cleanup.policy": "compact"})
	require.NoError(t, wait())
	if alterErr != nil {
		require.ErrorIs(t, alterErr, cairn.ErrInvalidConfig) // refusing the switch is fine
		return
	}
	r, err := b.Get(ctx, "t", []byte("k"))
	require.NoError(t, err, "the topic became compacted, but its record of k is not in the key index")
	require.Equal(t, "v", string(r.Value))
}
