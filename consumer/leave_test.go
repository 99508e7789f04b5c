package consumer_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// A static member fenced by a newer instance with its InstanceID loses its
// partitions, as Kafka's client says with onPartitionsLost: OnLost runs,
// Assignment is empty, and Close neither commits nor calls OnRevoked (it
// used to, as if the member had the partitions to give up, and OnLost
// never ran).
func TestFencedInstanceCallsOnLost(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	var calls lostRevoked
	o := groupOpts("g", "t")
	o.InstanceID = "pod-1"
	calls.hook(o)
	c1 := newConsumer(t, b, o)
	for len(c1.Assignment()) == 0 {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := c1.Poll(pctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	o2 := groupOpts("g", "t")
	o2.InstanceID = "pod-1"
	c2 := newConsumer(t, b, o2)
	pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _ = c2.Poll(pctx) // takes pod-1's place
	cancel()
	var err error
	require.Eventually(t, func() bool {
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err = c1.Poll(pctx)
		return errorsIs(err, group.ErrFencedInstanceID)
	}, 5*time.Second, time.Millisecond)
	afterFence := c1.Assignment()
	require.NoError(t, c1.Close())
	lost, revoked := calls.get()
	t.Logf("after fencing: Assignment %v; after Close: OnLost calls %v, OnRevoked calls %v", afterFence, lost, revoked)
	require.Empty(t, afterFence, "a fenced consumer owns nothing")
	require.Equal(t, [][]consumer.TopicPartition{{{Topic: "t", Partition: 0}}}, lost, "OnLost is told the partitions are gone")
	require.Empty(t, revoked, "a fenced member has nothing to revoke")
}

// slowLeader delays the leader's SyncGroup (a SyncGroup that carries the
// assignments), as a slow leader or network would.
type slowLeader struct {
	*cairn.Broker
	delay time.Duration
}

func (s slowLeader) SyncGroup(ctx context.Context, req group.SyncRequest) ([]byte, error) {
	if len(req.Assignments) > 0 {
		time.Sleep(s.delay)
	}
	return s.Broker.SyncGroup(ctx, req)
}

// A Poll whose ctx ends while the member waits in SyncGroup leaves the
// rebalance pending, and the next Poll finishes it, as Kafka's client
// does. The member used to forget it (join cleared the rejoin flag first):
// its heartbeats succeeded in the new generation, no later Poll joined or
// synced again, and the partition the leader assigned it went unread.
func TestPollCutInSyncStillGetsAssignment(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	o1 := groupOpts("g", "t")
	o1.Assignors = []group.Assignor{group.Range()}
	c1 := newConsumer(t, slowLeader{b, 500 * time.Millisecond}, o1)
	wg.Go(func() { runConsumer(runCtx, c1, func(*consumer.Record) {}) })
	require.Eventually(t, func() bool { return len(c1.Assignment()) == 2 }, 10*time.Second, time.Millisecond)

	o2 := groupOpts("g", "t")
	o2.Assignors = []group.Assignor{group.Range()}
	c2 := newConsumer(t, b, o2)
	pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := c2.Poll(pctx) // joins at once, then waits for the slow leader's sync
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	appendN(t, b, "t", 0, 5, "v")
	appendN(t, b, "t", 1, 5, "v")
	got := 0
	pctx, cancel = context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for got == 0 && pctx.Err() == nil {
		f, _ := c2.Poll(pctx)
		got += len(f.Records)
	}
	a, state := assignments(t, b, "g")
	t.Logf("c2 read %d records; its Assignment %v; group %v, coordinator's assignments %v", got, c2.Assignment(), state, a)
	require.NotZero(t, got, "c2 reads the partition the group assigned it")
}

// A consumer that stopped polling for longer than RebalanceTimeout leaves
// the group (its heartbeat goroutine does): its partitions are lost. A
// Close without another Poll calls OnLost, as Kafka's close() calls
// onPartitionsLost for a member without a generation (it returned without
// telling the user anything).
func TestCloseAfterLeavingCallsOnLost(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	var calls lostRevoked
	o := groupOpts("g", "t")
	o.RebalanceTimeout = 200 * time.Millisecond
	calls.hook(o)
	c := newConsumer(t, b, o)
	for len(c.Assignment()) == 0 {
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, _ = c.Poll(pctx)
		cancel()
	}
	require.Eventually(t, func() bool { // the idle member left the group
		d, err := b.Groups().DescribeGroup(ctx, "g")
		return err == nil && len(d.Members) == 0
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, c.Close())
	lost, revoked := calls.get()
	t.Logf("OnLost calls %v, OnRevoked calls %v", lost, revoked)
	require.Equal(t, [][]consumer.TopicPartition{{{Topic: "t", Partition: 0}}}, lost)
}

// failingCommits refuses every commit.
type failingCommits struct{ *cairn.Broker }

var errCommitDown = errors.New("commit refused")

func (failingCommits) CommitOffsets(context.Context, group.CommitRequest) error { return errCommitDown }

// The auto-commit Close makes before it revokes fails: Close still
// revokes and leaves, and returns the commit's error, so the user learns
// that the next owner will read those records again.
func TestCloseReportsFailedCommit(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 5, "v")
	var revoked int
	o := groupOpts("g", "t")
	o.OnRevoked = func(context.Context, *consumer.Consumer, []consumer.TopicPartition) { revoked++ }
	c := newConsumer(t, failingCommits{b}, o)
	pollN(t, c, 5)
	require.ErrorIs(t, c.Close(), errCommitDown)
	require.Equal(t, 1, revoked)
	com, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Empty(t, com, "nothing was committed")
	d, err := b.Groups().DescribeGroup(ctx, "g")
	require.NoError(t, err)
	require.Empty(t, d.Members, "the member left all the same")
	require.ErrorIs(t, c.Close(), errCommitDown, "a second Close reports the first one's result")
}

// lostRevoked records the partitions of each OnLost and OnRevoked call.
type lostRevoked struct {
	mu            sync.Mutex
	lost, revoked [][]consumer.TopicPartition
}

func (r *lostRevoked) hook(o *consumer.Options) {
	record := func(to *[][]consumer.TopicPartition) func(context.Context, *consumer.Consumer, []consumer.TopicPartition) {
		return func(_ context.Context, _ *consumer.Consumer, tps []consumer.TopicPartition) {
			r.mu.Lock()
			defer r.mu.Unlock()
			*to = append(*to, tps)
		}
	}
	o.OnLost, o.OnRevoked = record(&r.lost), record(&r.revoked)
}

func (r *lostRevoked) get() (lost, revoked [][]consumer.TopicPartition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lost, r.revoked
}
