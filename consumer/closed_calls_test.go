package consumer_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
)

// After Close, a commit is refused with ErrClosed (as Close documents, and
// as Kafka's commitSync on a closed consumer): a static member, which
// stays in the group, took it, and a late commit moved the group's
// offsets back behind what Close committed.
func TestCommitAfterCloseRefused(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 10, "v")
	o := groupOpts("g", "t")
	o.InstanceID = "i1"
	c := newConsumer(t, b, o)
	got := pollN(t, c, 10)
	require.NoError(t, c.Close()) // commits 10
	require.ErrorIs(t, c.CommitRecords(ctx, got[:3]...), cairn.ErrClosed)
	_, err := c.Committed(ctx)
	require.ErrorIs(t, err, cairn.ErrClosed)
	com, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, int64(10), com[consumer.TopicPartition{Topic: "t", Partition: 0}].Offset)
}

// Position after Close is ErrClosed, as Close documents for later calls.
func TestPositionAfterClose(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"t": {0}}})
	require.NoError(t, c.Close())
	_, err := c.Position(ctx, "t", 0)
	require.ErrorIs(t, err, cairn.ErrClosed)
}

// A nil record is bad input, not a panic.
func TestCommitRecordsNil(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	c := newConsumer(t, b, groupOpts("g", "t"))
	require.ErrorIs(t, c.CommitRecords(ctx, nil), cairn.ErrInvalidArgument)
}
