package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// A commit for a partition the member does not own fails with the
// group's sentinel, as Commit's doc says; this package's ErrNotAssigned
// (Seek, Pause) is another error, which the doc used to name.
func TestCommitUnownedPartitionIsGroupNotAssigned(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1, "other": 1})
	c := newConsumer(t, b, groupOpts("g", "t"))
	for deadline := time.Now().Add(10 * time.Second); ; {
		require.True(t, time.Now().Before(deadline), "t/0 never assigned")
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := c.Poll(pctx) // joins and takes t/0; nothing to read
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		if _, err := c.Position(ctx, "t", 0); err == nil {
			break
		}
	}
	err := c.Commit(ctx, map[consumer.TopicPartition]group.Committed{{Topic: "other", Partition: 0}: {Offset: 1}})
	require.ErrorIs(t, err, group.ErrNotAssigned)
	require.NotErrorIs(t, err, consumer.ErrNotAssigned)
}
