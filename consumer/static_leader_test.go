package consumer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
)

// A static leader restarted in a Stable group takes its old place without
// a rebalance, but its plan (which SyncGroup ignores in a Stable group)
// recorded the partition counts of now as those the assignment was made
// for: partitions added while it was down were never assigned.
func TestStaticLeaderRestartSeesNewPartitions(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(instance string) (*consumer.Consumer, context.CancelFunc) {
		return startStatic(t, b, &wg, instance)
	}
	c1, stop1 := start("pod-1")
	defer stop1()
	require.Eventually(t, func() bool { return len(c1.Assignment()) == 2 }, 10*time.Second, time.Millisecond)
	c2, stop2 := start("pod-2")
	defer stop2()
	require.Eventually(t, func() bool { return len(c1.Assignment()) == 1 && len(c2.Assignment()) == 1 }, 10*time.Second, time.Millisecond)
	d, err := b.Groups().DescribeGroup(ctx, "g")
	require.NoError(t, err)
	leader, other, stop, instance := c1, c2, stop1, "pod-1"
	for _, m := range d.Members {
		if m.MemberID == d.Leader && m.InstanceID == "pod-2" {
			leader, other, stop, instance = c2, c1, stop2, "pod-2"
		}
	}
	stop()
	require.NoError(t, leader.Close()) // static: stays in the group
	require.NoError(t, b.CreatePartitions(ctx, "t", 4))
	c3, stop3 := start(instance)
	defer stop3()
	ok := assertEventually(func() bool { return len(c3.Assignment())+len(other.Assignment()) == 4 }, 3*time.Second)
	t.Logf("restarted leader owns %v, the other %v", c3.Assignment(), other.Assignment())
	require.True(t, ok, "t/2 and t/3 are assigned")
}
