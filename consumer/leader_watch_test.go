package consumer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
)

// The leader rebalances when a topic any member subscribes to changes,
// as Kafka's leader watches the group's whole subscription: it watched
// only its own topics, so a follower's topic that grew (or was created
// after the assignment) never had its new partitions assigned.
func TestLeaderWatchesFollowersTopics(t *testing.T) {
	b := newBroker(t, map[string]int{"a": 1, "b": 1})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	start := func(topics ...string) *consumer.Consumer {
		c := newConsumer(t, b, groupOpts("g", topics...))
		wg.Go(func() { runConsumer(runCtx, c, func(*consumer.Record) {}) })
		return c
	}
	leader := start("a")
	require.Eventually(t, func() bool { return len(leader.Assignment()) == 1 }, 10*time.Second, time.Millisecond)
	follower := start("b", "c") // c does not exist yet
	require.Eventually(t, func() bool { return len(follower.Assignment()) == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, b.CreatePartitions(ctx, "b", 2))
	require.NoError(t, b.CreateTopic(ctx, "c", 1, nil))
	ok := assertEventually(func() bool { return len(follower.Assignment()) == 3 }, 3*time.Second)
	t.Logf("follower owns %v, leader %v", follower.Assignment(), leader.Assignment())
	require.True(t, ok, "the follower gets b/1 and c/0")
}

func assertEventually(f func() bool, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if f() {
			return true
		}
	}
	return f()
}
