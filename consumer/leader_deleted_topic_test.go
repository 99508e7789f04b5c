package consumer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
)

// The leader rebalances when a subscribed topic is deleted, as Kafka's
// leader (its metadata snapshot loses the topic): the deleted topic's
// partitions stayed assigned, and every Poll reported them as unknown,
// for as long as the group did not rebalance for another reason.
func TestLeaderWatchesDeletedTopic(t *testing.T) {
	b := newBroker(t, map[string]int{"a": 1, "b": 1})
	c := newConsumer(t, b, groupOpts("g", "a", "b"))
	poll := func() error {
		pctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		f, err := c.Poll(pctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return nil // nothing to read, or a join cut short
		}
		require.NoError(t, err)
		return f.Err()
	}
	for len(c.Assignment()) < 2 {
		_ = poll()
	}
	require.NoError(t, b.DeleteTopic(ctx, "b"))
	ok := assertEventually(func() bool { return poll() == nil && len(c.Assignment()) == 1 }, 3*time.Second)
	t.Logf("owns %v, last poll: %v", c.Assignment(), poll())
	require.True(t, ok, "b/0 is revoked")
	require.Equal(t, []consumer.TopicPartition{{Topic: "a", Partition: 0}}, c.Assignment())
}
