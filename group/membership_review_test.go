package group_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// The old incarnation of a static member, replaced by a restart, sends a
// JoinGroup with its old member id (as after a rebalance it learns of).
// Kafka answers FENCED_INSTANCE_ID; answering UNKNOWN_MEMBER_ID makes it
// (consumer.retryable, every Kafka client) drop its id and join again with
// the instance id alone, which fences the live incarnation instead.
func TestStaleStaticJoinIsFenced(t *testing.T) {
	c := newBroker(t, nil).Groups()
	sreq := joinReq("g", "")
	sreq.InstanceID = "pod-1"
	old := joinAll(t, c, sreq)[0]
	_, err := c.SyncGroup(ctx, group.SyncRequest{Group: "g", MemberID: old.MemberID, InstanceID: "pod-1",
		Generation: old.Generation, Assignments: map[string][]byte{old.MemberID: assignment(tp(0))}})
	require.NoError(t, err)
	live, err := c.JoinGroup(ctx, sreq) // the restart
	require.NoError(t, err)
	require.NotEqual(t, old.MemberID, live.MemberID)

	zombie := sreq
	zombie.MemberID = old.MemberID
	_, err = c.JoinGroup(ctx, zombie)
	require.ErrorIs(t, err, group.ErrFencedInstanceID, "the replaced incarnation must be fenced")
}

// A follower waiting in SyncGroup for the leader's assignment is not
// expired by its session timeout (Kafka: members awaiting sync satisfy
// heartbeats); only the rebalance timeout bounds the sync.
func TestAwaitingSyncNotExpiredBySession(t *testing.T) {
	c := newBrokerDelay(t, nil, 50*time.Millisecond).Groups()
	req := joinReq("g", "")
	// Sessions long enough that the leader's heartbeats (every 25ms) keep
	// it on a loaded machine; the follower waits well past its own.
	req.SessionTimeout, req.RebalanceTimeout = 250*time.Millisecond, 5*time.Second
	rs := joinAll(t, c, req, req)
	leader, follower := rs[0], rs[1]
	if follower.LeaderID == follower.MemberID {
		leader, follower = follower, leader
	}
	type res struct {
		a   []byte
		err error
	}
	done := make(chan res, 1)
	go func() {
		a, err := c.SyncGroup(ctx, group.SyncRequest{Group: "g", MemberID: follower.MemberID, Generation: follower.Generation})
		done <- res{a, err}
	}()
	// The leader takes longer than the session timeout to plan, heartbeating
	// meanwhile (as the Java client does); the follower just waits in sync.
	for i := 0; i < 24; i++ {
		time.Sleep(25 * time.Millisecond)
		require.NoError(t, c.Heartbeat(ctx, group.HeartbeatRequest{Group: "g", MemberID: leader.MemberID, Generation: leader.Generation}))
	}
	_, err := c.SyncGroup(ctx, group.SyncRequest{Group: "g", MemberID: leader.MemberID, Generation: leader.Generation,
		Assignments: map[string][]byte{leader.MemberID: assignment(tp(0)), follower.MemberID: assignment(tp(1))}})
	require.NoError(t, err, "the leader's sync")
	select {
	case r := <-done:
		require.NoError(t, r.err, "the follower waiting in sync")
		got, _ := group.DecodeAssignment(r.a)
		require.Equal(t, []group.TopicPartition{tp(1)}, got)
	case <-time.After(5 * time.Second):
		t.Fatal("follower sync never returned")
	}
}

// Committed offsets read back the same after a reopen as before it.
func TestCommitTimeSameAfterReopen(t *testing.T) {
	fs := vfs.NewMem()
	b := newBroker(t, fs)
	// The topic exists: Open drops commits of topics that do not (the
	// leftovers of a DeleteTopic a crash cut short).
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	c := b.Groups()
	require.NoError(t, c.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{tp(0): {Offset: 4, Metadata: "m"}}}))
	before, err := c.FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.NoError(t, b.Close())
	after, err := newBroker(t, fs).Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, before[tp(0)].Offset, after[tp(0)].Offset)
	require.Equal(t, before[tp(0)].Metadata, after[tp(0)].Metadata)
	require.True(t, before[tp(0)].Time.Equal(after[tp(0)].Time), "commit time %v before reopen, %v after", before[tp(0)].Time, after[tp(0)].Time)
}

// A member waiting in a join is not expired by its session either, even
// if it heartbeated once after joining (the heartbeat restarted its timer).
func TestAwaitingJoinNotExpiredBySession(t *testing.T) {
	c := newBrokerDelay(t, nil, 50*time.Millisecond).Groups()
	short := joinReq("g", "")
	short.SessionTimeout, short.RebalanceTimeout = 300*time.Millisecond, 5*time.Second
	long := joinReq("g", "")
	long.SessionTimeout, long.RebalanceTimeout = 5*time.Second, 5*time.Second
	rs := joinAll(t, c, short, long)
	a, cm := rs[0], rs[1]
	for _, r := range rs {
		go c.SyncGroup(ctx, group.SyncRequest{Group: "g", MemberID: r.MemberID, Generation: r.Generation, Assignments: map[string][]byte{}})
	}
	time.Sleep(20 * time.Millisecond)
	// b joins: a rebalance; a rejoins at once, c only later.
	go c.JoinGroup(ctx, joinReq("g", ""))
	require.Eventually(t, func() bool {
		d, _ := c.DescribeGroup(ctx, "g")
		return d.State == group.PreparingRebalance
	}, time.Second, time.Millisecond)
	type res struct {
		r   group.JoinResponse
		err error
	}
	done := make(chan res, 1)
	go func() {
		ra := short
		ra.MemberID = a.MemberID
		r, err := c.JoinGroup(ctx, ra)
		done <- res{r, err}
	}()
	time.Sleep(20 * time.Millisecond)
	_ = c.Heartbeat(ctx, group.HeartbeatRequest{Group: "g", MemberID: a.MemberID, Generation: a.Generation})
	time.Sleep(800 * time.Millisecond) // > a's session; a is still waiting in its join
	rc := long
	rc.MemberID = cm.MemberID
	_, err := c.JoinGroup(ctx, rc)
	require.NoError(t, err)
	select {
	case r := <-done:
		require.NoError(t, r.err, "a, waiting in its join")
	case <-time.After(5 * time.Second):
		t.Fatal("a's join never returned")
	}
}
