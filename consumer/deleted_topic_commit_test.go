package consumer_test

import (
	"testing"

	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// A consumer whose group owns a partition of a topic deleted since its
// last poll closes: its final commit carries the deleted topic's partition
// with the live ones. Kafka answers per partition (UNKNOWN_TOPIC_OR_PARTITION
// for the deleted one only); the live partitions' positions must be stored.
func TestCloseCommitsLivePartitionsDespiteDeletedTopic(t *testing.T) {
	b := newBroker(t, map[string]int{"a": 1, "b": 1})
	appendN(t, b, "a", 0, 5, "a")
	appendN(t, b, "b", 0, 3, "b")
	c, err := consumer.New(b, groupOpts("g", "a", "b"))
	require.NoError(t, err)
	pollN(t, c, 8)
	require.NoError(t, b.DeleteTopic(ctx, "b"))
	_ = c.Close() // the deleted topic's commit may fail, not a's
	got, err := b.FetchOffsets(ctx, "g", group.TopicPartition{Topic: "a", Partition: 0})
	require.NoError(t, err)
	require.Equal(t, int64(5), got[group.TopicPartition{Topic: "a", Partition: 0}].Offset,
		"a/0's position was not committed on Close")
}
