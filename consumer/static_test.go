package consumer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// A static member that stops polling for longer than RebalanceTimeout
// does not leave the group, as Kafka's maybeLeaveGroup sends no
// LeaveGroup for a static member: it stays until its session expires, and
// a Poll within the session timeout takes its place back without a
// rebalance. It used to leave at once, so the group rebalanced twice.
func TestStaticMemberPollTimeoutDoesNotLeave(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	o := groupOpts("g", "t")
	o.InstanceID = "pod-1"
	o.RebalanceTimeout = 200 * time.Millisecond
	o.SessionTimeout = 5 * time.Second
	c := newConsumer(t, b, o)
	for len(c.Assignment()) == 0 {
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, _ = c.Poll(pctx)
		cancel()
	}
	d, err := b.Groups().DescribeGroup(ctx, "g")
	require.NoError(t, err)
	gen := d.Generation
	time.Sleep(800 * time.Millisecond) // no Poll for four rebalance timeouts
	d, err = b.Groups().DescribeGroup(ctx, "g")
	require.NoError(t, err)
	require.Len(t, d.Members, 1, "a static member stays in the group until its session expires")
	for len(c.Assignment()) == 0 {
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, _ = c.Poll(pctx)
		cancel()
	}
	d, err = b.Groups().DescribeGroup(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, gen, d.Generation, "no rebalance")
}

// A static member restarted within the session timeout takes its old
// place and assignment without a rebalance (KIP-345), also in a group
// that has rebalanced since the member first joined: its subscription
// then carried the partitions it owned and its generation, a restarted
// consumer's carries neither, and the coordinator, which compared the
// metadata byte for byte, rebalanced. Kafka's coordinator rebalances a
// Stable group for a static rejoin only if the group's protocol changes.
func TestStaticMemberRestartDoesNotRebalance(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(instance string) (*consumer.Consumer, context.CancelFunc) {
		return startStatic(t, b, &wg, instance)
	}
	stable := func() (group.Description, bool) {
		d, err := b.Groups().DescribeGroup(ctx, "g")
		if err != nil || d.State != group.Stable || len(d.Members) != 2 {
			return d, false
		}
		for _, m := range d.Members {
			if tps, _ := group.DecodeAssignment(m.Assignment); len(tps) != 1 {
				return d, false
			}
		}
		return d, true
	}
	c1, stop1 := start("pod-1")
	defer stop1()
	require.Eventually(t, func() bool { return len(c1.Assignment()) == 2 }, 10*time.Second, time.Millisecond)
	c2, stop2 := start("pod-2")
	defer stop2()
	var d group.Description
	require.Eventually(t, func() bool {
		var ok bool
		d, ok = stable()
		return ok && len(c1.Assignment()) == 1 && len(c2.Assignment()) == 1
	}, 10*time.Second, time.Millisecond)
	// Restart the follower (a leader's restart is another matter).
	restart, c, stop := "pod-2", c2, stop2
	for _, m := range d.Members {
		if m.MemberID == d.Leader && m.InstanceID == "pod-2" {
			restart, c, stop = "pod-1", c1, stop1
		}
	}
	owned := c.Assignment()
	stop()
	require.NoError(t, c.Close())
	c3, stop3 := start(restart)
	defer stop3()
	require.Eventually(t, func() bool { return len(c3.Assignment()) == 1 }, 10*time.Second, time.Millisecond)
	after, ok := stable()
	t.Logf("generation %d before the restart, %d after; %s owned %v, owns %v", d.Generation, after.Generation, restart, owned, c3.Assignment())
	require.True(t, ok)
	require.Equal(t, d.Generation, after.Generation, "no rebalance")
	require.Equal(t, owned, c3.Assignment())
}

// startStatic starts a static member (instance, session timeout 5s) of
// group g on topic t, polling on a goroutine of wg until stopped.
func startStatic(t *testing.T, b *cairn.Broker, wg *sync.WaitGroup, instance string) (*consumer.Consumer, context.CancelFunc) {
	o := groupOpts("g", "t")
	o.InstanceID = instance
	o.SessionTimeout = 5 * time.Second
	c := newConsumer(t, b, o)
	runCtx, stop := context.WithCancel(ctx)
	wg.Go(func() { runConsumer(runCtx, c, func(*consumer.Record) {}) })
	return c, stop
}
