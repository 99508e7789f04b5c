package group_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A member that joined but never sends its SyncGroup (while it keeps
// heartbeating) holds the group in CompletingRebalance for good: the
// other members wait in SyncGroup and get no partitions. Kafka removes
// members that have not synced within the rebalance timeout
// (KAFKA-12890), and the waiting syncs get REBALANCE_IN_PROGRESS.
func TestMemberThatNeverSyncsIsRemoved(t *testing.T) {
	c := newBrokerDelay(t, nil, 50*time.Millisecond).Groups()
	req := joinReq("g", "")
	req.SessionTimeout, req.RebalanceTimeout = time.Second, 200*time.Millisecond
	rs := joinAll(t, c, req, req)
	require.Equal(t, rs[0].Generation, rs[1].Generation)
	leader, follower := rs[0], rs[1]
	if follower.MemberID == follower.LeaderID {
		leader, follower = follower, leader
	}
	// Both heartbeat (as consumers do); the leader never syncs.
	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	done := make(chan struct{})
	defer func() { stopHB(); <-done }()
	go func() {
		defer close(done)
		for hbCtx.Err() == nil {
			for _, m := range []group.JoinResponse{leader, follower} {
				_ = c.Heartbeat(ctx, group.HeartbeatRequest{Group: "g", MemberID: m.MemberID, Generation: m.Generation})
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.SyncGroup(sctx, group.SyncRequest{Group: "g", MemberID: follower.MemberID, Generation: follower.Generation})
	d, _ := c.DescribeGroup(ctx, "g")
	t.Logf("follower's SyncGroup returned after %v with %v; group %v, generation %d", time.Since(start).Round(time.Millisecond), err, d.State, d.Generation)
	require.ErrorIs(t, err, group.ErrRebalanceInProgress, "the member that never synced is removed after the rebalance timeout")
}

// Lag and ResetOffsets on a coordinator opened without Options.Partitions
// panic with a nil dereference instead of returning an error.
func TestLagWithoutPartitions(t *testing.T) {
	db, err := pebble.Open("d", &pebble.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	defer db.Close()
	c, err := group.Open(group.Options{DB: db})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{tp(0): {Offset: 1}}}))
	require.NotPanics(t, func() {
		_, err = c.Lag(ctx, "g")
	}, "Lag")
	require.Error(t, err)
	require.NotPanics(t, func() {
		err = c.ResetOffsets(ctx, "g", group.ToEarliest(), tp(0))
	}, "ResetOffsets")
	require.Error(t, err)
}

// A ResetOffsets that changes nothing (a bad target, or no partitions
// named) still creates the group: an empty group with no offsets shows in
// ListGroups until DeleteGroup. Kafka's reset tool creates nothing when it
// fails.
func TestFailedResetCreatesNoGroup(t *testing.T) {
	b := newBroker(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	c := b.Groups()
	require.ErrorIs(t, c.ResetOffsets(ctx, "typo", group.ToOffset(5), tp(0)), group.ErrInvalidOffset)
	_ = c.ResetOffsets(ctx, "nothing", group.ToEarliest())
	ls, err := c.ListGroups(ctx)
	require.NoError(t, err)
	require.Empty(t, ls, "groups left behind by resets that changed nothing")
}
