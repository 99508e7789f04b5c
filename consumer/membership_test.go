package consumer_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// A Poll that waits on a quiet topic for longer than RebalanceTimeout is
// still polling (Kafka's heartbeat thread resets the poll timer inside
// poll()); here the heartbeat goroutine sees lastPoll from the Poll's start
// and leaves the group, again and again, while the same Poll waits.
func TestLongPollStaysInGroup(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	o := groupOpts("g", "t")
	o.RebalanceTimeout = 300 * time.Millisecond
	var assigned, lost atomic.Int32
	o.OnAssigned = func(context.Context, *consumer.Consumer, []consumer.TopicPartition) { assigned.Add(1) }
	o.OnLost = func(context.Context, *consumer.Consumer, []consumer.TopicPartition) { lost.Add(1) }
	c := newConsumer(t, b, o)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := c.Poll(pctx) // one Poll, nothing to read
	require.ErrorIs(t, err, context.DeadlineExceeded)
	d, err := b.Groups().DescribeGroup(ctx, "g")
	require.NoError(t, err)
	t.Logf("one 2s Poll: OnAssigned %d times, OnLost %d times, group generation %d",
		assigned.Load(), lost.Load(), d.Generation)
	require.Zero(t, lost.Load(), "a consumer blocked in Poll lost its partitions")
	require.Equal(t, int32(1), assigned.Load())
}

// Two consumers started with the same InstanceID (a misconfiguration
// Kafka answers with a fatal FencedInstanceIdException): the one fenced
// gets ErrFencedInstanceID from every Poll and reads nothing more, and
// the group settles. (They fenced each other back and forth, each taking
// the assignment without a rebalance, and both read the partition: 137
// times in a second both owned it.)
func TestDuplicateInstanceIDIsFatal(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	mk := func() *consumer.Consumer {
		o := groupOpts("g", "t")
		o.InstanceID = "pod-1"
		return newConsumer(t, b, o)
	}
	c1 := mk()
	for len(c1.Assignment()) == 0 { // c1 joins and owns t/0 (Polls until it does, however slow the machine)
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := c1.Poll(pctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	c2 := mk()
	runCtx, stop := context.WithTimeout(ctx, time.Second)
	defer stop()
	var fenced [2]atomic.Int32
	var recsAfterFence atomic.Int32
	var wg sync.WaitGroup
	for i, c := range []*consumer.Consumer{c1, c2} {
		wg.Go(func() {
			for runCtx.Err() == nil {
				f, err := c.Poll(runCtx)
				if errorsIs(err, group.ErrFencedInstanceID) {
					fenced[i].Add(1)
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if fenced[i].Load() > 0 {
					recsAfterFence.Add(int32(len(f.Records)))
				}
			}
		})
	}
	wg.Go(func() {
		for runCtx.Err() == nil {
			appendN(t, b, "t", 0, 1, "v")
			time.Sleep(10 * time.Millisecond)
		}
	})
	wg.Wait()
	d, err := b.Groups().DescribeGroup(ctx, "g")
	require.NoError(t, err)
	t.Logf("fenced Polls: %d, %d; group generation %d", fenced[0].Load(), fenced[1].Load(), d.Generation)
	require.NotZero(t, fenced[0].Load(), "the first consumer, whose InstanceID the second took, is fenced")
	require.Zero(t, fenced[1].Load())
	require.Zero(t, recsAfterFence.Load(), "a fenced consumer reads nothing")
	require.LessOrEqual(t, d.Generation, int32(3), "the group settles")
}

// DeleteTopic leaves the group's committed offsets behind: a topic
// recreated under the same name is read from the old incarnation's offset,
// silently skipping the new topic's first records (Kafka drops the offsets
// of deleted partitions).
func TestRecreatedTopicStartsOver(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 5, "old")
	o := groupOpts("g", "t")
	c := newConsumer(t, b, o)
	pollN(t, c, 5)
	require.NoError(t, c.Close()) // auto-commits offset 5
	require.NoError(t, b.DeleteTopic(ctx, "t"))
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	appendN(t, b, "t", 0, 8, "new")
	c2 := newConsumer(t, b, groupOpts("g", "t"))
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second) // returns with the first records
	defer cancel()
	f, err := c2.Poll(pctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), f.Records[0].Offset, "first record read from the recreated topic: %s", f.Records[0].Value)
}
