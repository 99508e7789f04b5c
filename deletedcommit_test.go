package cairn_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A consumer that has not noticed DeleteTopic commits once more: Kafka
// answers UNKNOWN_TOPIC_OR_PARTITION (the commit's partition is not in
// its metadata), so a topic created again under the name is read from its
// start, as DeleteTopic promises.
func TestCommitToDeletedTopicRefused(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	require.NoError(t, b.DeleteTopic(ctx, "t"))
	tp := group.TopicPartition{Topic: "t", Partition: 0}
	err := b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{tp: {Offset: 42}}})
	require.ErrorIs(t, err, cairn.ErrUnknownTopic)

	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	got, err := b.FetchOffsets(ctx, "g", tp)
	require.NoError(t, err)
	require.NotContains(t, got, tp, "the recreated topic inherited a commit made after DeleteTopic")

	err = b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{{Topic: "t", Partition: 1}: {Offset: 1}}})
	require.ErrorIs(t, err, cairn.ErrUnknownPartition)
}
