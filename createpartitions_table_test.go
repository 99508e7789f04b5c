package cairn_test

import (
	"fmt"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/topic"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// Get looks a key up in partition murmur2(key) mod the count, so growing
// a compacted topic that holds records would hide keys stored before (in
// the partition the producer chose for them) behind ErrKeyNotFound. Such
// a grow is refused, as the switch of such a topic to compact is.
func TestCreatePartitionsKeepsTableKeys(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, cairn.TopicConfig{"cleanup.policy": "compact"}))
	var key []byte
	for i := 0; ; i++ {
		key = []byte(fmt.Sprint("user-", i))
		if topic.KeyPartition(key, 2) == 1 {
			break
		}
	}
	_, err := b.Append(ctx, "tbl", topic.KeyPartition(key, 1), cairn.Record{Key: key, Value: []byte("balance=10")})
	require.NoError(t, err)
	_, err = b.Get(ctx, "tbl", key)
	require.NoError(t, err)
	require.ErrorIs(t, b.CreatePartitions(ctx, "tbl", 2), cairn.ErrInvalidPartitions)
	r, err := b.Get(ctx, "tbl", key)
	require.NoError(t, err, "a live key vanished from the table after CreatePartitions")
	require.Equal(t, "balance=10", string(r.Value))
}

// An empty compacted topic can grow.
func TestCreatePartitionsOfEmptyCompactedTopic(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, cairn.TopicConfig{"cleanup.policy": "compact"}))
	require.NoError(t, b.CreatePartitions(ctx, "tbl", 2))
	n, err := b.PartitionCount("tbl")
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
