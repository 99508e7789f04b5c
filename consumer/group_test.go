package consumer_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// groupOpts are short timeouts for tests.
func groupOpts(groupID string, topics ...string) *consumer.Options {
	return &consumer.Options{Group: groupID, Topics: topics, SessionTimeout: time.Second,
		HeartbeatInterval: 10 * time.Millisecond, RebalanceTimeout: 2 * time.Second,
		MetadataInterval: 10 * time.Millisecond}
}

// runConsumer polls c until ctx ends, handing each record to f.
func runConsumer(ctx context.Context, c *consumer.Consumer, f func(*consumer.Record)) {
	for ctx.Err() == nil {
		fs, err := c.Poll(ctx)
		if err != nil {
			return
		}
		for _, r := range fs.Records {
			f(r)
		}
	}
}

// assignments decodes the coordinator's view of a stable group.
func assignments(t *testing.T, b *cairn.Broker, groupID string) (map[string][]group.TopicPartition, group.State) {
	t.Helper()
	d, err := b.Groups().DescribeGroup(ctx, groupID)
	if err != nil {
		return nil, group.Dead
	}
	out := map[string][]group.TopicPartition{}
	for _, m := range d.Members {
		tps, err := group.DecodeAssignment(m.Assignment)
		require.NoError(t, err)
		out[m.MemberID] = tps
	}
	return out, d.State
}

func TestGroupSharesPartitions(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 6})
	var mu sync.Mutex
	seen := map[string]int{}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var assignedCalls atomic.Int32
	for i := 0; i < 3; i++ {
		o := groupOpts("g", "t")
		o.OnAssigned = func(context.Context, *consumer.Consumer, []consumer.TopicPartition) { assignedCalls.Add(1) }
		c := newConsumer(t, b, o)
		wg.Go(func() {
			runConsumer(runCtx, c, func(r *consumer.Record) {
				mu.Lock()
				seen[fmt.Sprintf("%d/%d", r.Partition, r.Offset)]++
				mu.Unlock()
			})
		})
	}
	require.Eventually(t, func() bool {
		a, state := assignments(t, b, "g")
		if state != group.Stable || len(a) != 3 {
			return false
		}
		for _, tps := range a {
			if len(tps) != 2 {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "three members with two partitions each")
	for p := int32(0); p < 6; p++ {
		appendN(t, b, "t", p, 50, "v")
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 300
	}, 10*time.Second, 10*time.Millisecond)
	stop()
	wg.Wait()
	require.GreaterOrEqual(t, assignedCalls.Load(), int32(3))
}

func TestGroupCommitAndResume(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 10, "v")
	o := groupOpts("g", "t")
	o.DisableAutoCommit = true
	c := newConsumer(t, b, o)
	got := pollN(t, c, 10)
	require.NoError(t, c.CommitRecords(ctx, got[:4]...))
	com, err := c.Committed(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(4), com[consumer.TopicPartition{Topic: "t", Partition: 0}].Offset)
	require.NoError(t, c.Close())

	c2 := newConsumer(t, b, groupOpts("g", "t"))
	again := pollN(t, c2, 6)
	require.Equal(t, int64(4), again[0].Offset, "resumes at the committed offset")
	// Auto-commit on Close commits what Poll returned before.
	require.NoError(t, c2.Close())
	lag, err := b.Groups().Lag(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, int64(10), lag[0].Committed)
	require.Zero(t, lag[0].Lag)
}

// Auto-commit never runs ahead of processing: it commits at the start of a
// Poll what earlier polls returned.
func TestAutoCommitOnlyProcessed(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 10, "v")
	o := groupOpts("g", "t")
	o.AutoCommitInterval = time.Nanosecond
	o.MaxPollRecords = 3
	c := newConsumer(t, b, o)
	committed := func() int64 {
		com, err := c.Committed(ctx)
		require.NoError(t, err)
		if v, ok := com[consumer.TopicPartition{Topic: "t", Partition: 0}]; ok {
			return v.Offset
		}
		return -1
	}
	pollN(t, c, 3)
	require.Equal(t, int64(-1), committed(), "nothing processed yet when the first poll ran")
	pollN(t, c, 3)
	require.Equal(t, int64(3), committed(), "the first three, returned by the previous poll")
	pollN(t, c, 3)
	require.Equal(t, int64(6), committed())
}

// heartbeatSink drops a consumer's heartbeats and commits nothing extra:
// to the coordinator the consumer looks crashed.
type heartbeatSink struct {
	*cairn.Broker
	dead atomic.Bool
}

func (h *heartbeatSink) Heartbeat(ctx context.Context, req group.HeartbeatRequest) error {
	if h.dead.Load() {
		return nil
	}
	return h.Broker.Heartbeat(ctx, req)
}

func TestSilentMemberIsRemovedAndFenced(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	appendN(t, b, "t", 0, 5, "a")
	appendN(t, b, "t", 1, 5, "b")
	sink := &heartbeatSink{Broker: b}
	o := groupOpts("g", "t")
	o.SessionTimeout = 200 * time.Millisecond
	o.DisableAutoCommit = true
	zombie := newConsumer(t, sink, o)
	got := pollN(t, zombie, 10)
	before, _ := assignments(t, b, "g")
	require.Len(t, before, 1)
	zombieID := firstKey(before)
	sink.dead.Store(true) // it stops heartbeating (and polling)

	other := newConsumer(t, b, groupOpts("g", "t"))
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go runConsumer(runCtx, other, func(*consumer.Record) {})
	require.Eventually(t, func() bool {
		a, state := assignments(t, b, "g")
		return state == group.Stable && len(a) == 1 && firstKey(a) != zombieID && len(a[firstKey(a)]) == 2
	}, 10*time.Second, 10*time.Millisecond, "the silent member is removed, the other takes both")
	err := zombie.CommitRecords(ctx, got...)
	require.Error(t, err)
	require.True(t, errorsIsAny(err, cairn.ErrUnknownMemberID, cairn.ErrIllegalGeneration), "%v", err)
	com, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Empty(t, com, "the zombie's commit changed nothing")
}

func TestMemberThatStopsPollingLeaves(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	o := groupOpts("g", "t")
	o.RebalanceTimeout = 150 * time.Millisecond
	idle := newConsumer(t, b, o)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, _ = idle.Poll(short) // joins, then never polls again
	cancel()
	require.Eventually(t, func() bool {
		a, _ := assignments(t, b, "g")
		return len(a) == 0
	}, 10*time.Second, 10*time.Millisecond, "left after the rebalance timeout without a poll")
}

func TestRevokeRunsBeforePartitionsMove(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 4})
	for p := int32(0); p < 4; p++ {
		appendN(t, b, "t", p, 3, "v")
	}
	var revokedCommitErr atomic.Value
	o := groupOpts("g", "t")
	o.DisableAutoCommit = true
	var first *consumer.Consumer
	o.OnRevoked = func(ctx context.Context, c *consumer.Consumer, tps []consumer.TopicPartition) {
		offs := map[consumer.TopicPartition]group.Committed{}
		for _, tp := range tps {
			pos, err := c.Position(ctx, tp.Topic, tp.Partition)
			require.NoError(t, err)
			offs[tp] = group.Committed{Offset: pos}
		}
		if err := c.Commit(ctx, offs); err != nil {
			revokedCommitErr.Store(err)
		}
	}
	first = newConsumer(t, b, o)
	pollN(t, first, 12)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go runConsumer(runCtx, first, func(*consumer.Record) {})
	second := newConsumer(t, b, groupOpts("g", "t"))
	var moved []int64
	var mu sync.Mutex
	go runConsumer(runCtx, second, func(r *consumer.Record) {
		mu.Lock()
		moved = append(moved, r.Offset)
		mu.Unlock()
	})
	require.Eventually(t, func() bool {
		a, state := assignments(t, b, "g")
		return state == group.Stable && len(a) == 2 && len(a[firstKey(a)]) == 2
	}, 10*time.Second, 10*time.Millisecond)
	require.Nil(t, revokedCommitErr.Load(), "OnRevoked could commit")
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, moved, "the new owner starts at the offsets committed in OnRevoked")
}

func TestGroupBadInput(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	_, err := consumer.New(b, &consumer.Options{Group: "g"})
	require.ErrorIs(t, err, cairn.ErrInvalidArgument, "no topics")
	_, err = consumer.New(b, &consumer.Options{Group: "g", Topics: []string{"t"}, Partitions: map[string][]int32{"t": {0}}})
	require.ErrorIs(t, err, cairn.ErrInvalidArgument)
	_, err = consumer.New(b, &consumer.Options{Group: "g", Topics: []string{"t"}, SessionTimeout: time.Second, HeartbeatInterval: time.Second})
	require.ErrorIs(t, err, cairn.ErrInvalidArgument, "heartbeat interval not below the session timeout")
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t"}})
	require.ErrorIs(t, c.CommitRecords(ctx, &consumer.Record{Topic: "t"}), cairn.ErrInvalidArgument, "no group")
}

func firstKey(m map[string][]group.TopicPartition) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys[0]
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errorsIs(err, t) {
			return true
		}
	}
	return false
}

// illegalOnce answers one heartbeat with ErrIllegalGeneration.
type illegalOnce struct {
	*cairn.Broker
	fired atomic.Bool
}

func (h *illegalOnce) Heartbeat(ctx context.Context, req group.HeartbeatRequest) error {
	if h.fired.CompareAndSwap(false, true) {
		return group.ErrIllegalGeneration
	}
	return h.Broker.Heartbeat(ctx, req)
}

// An illegal generation means "rejoin", not "forget your member id": a new
// id would leave the old one behind as a member the group waits for.
func TestIllegalGenerationKeepsMemberID(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	appendN(t, b, "t", 0, 1, "v")
	c := newConsumer(t, &illegalOnce{Broker: b}, groupOpts("g", "t"))
	pollN(t, c, 1)
	first, _ := b.Groups().DescribeGroup(ctx, "g")
	require.Len(t, first.Members, 1)
	require.Eventually(t, func() bool {
		appendN(t, b, "t", 1, 1, "w")
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		_, _ = c.Poll(short)
		a, state := assignments(t, b, "g")
		d, _ := b.Groups().DescribeGroup(ctx, "g")
		return state == group.Stable && len(a) == 1 && d.Generation >= 2 &&
			d.Members[0].MemberID == first.Members[0].MemberID
	}, 10*time.Second, 10*time.Millisecond, "rejoined as the same single member")
}
