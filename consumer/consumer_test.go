package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

var errorsIs = errors.Is

func newBroker(t *testing.T, topics map[string]int) *cairn.Broker {
	t.Helper()
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	for name, n := range topics {
		require.NoError(t, b.CreateTopic(ctx, name, n, nil))
	}
	return b
}

func newConsumer(t *testing.T, b consumer.Broker, o *consumer.Options) *consumer.Consumer {
	t.Helper()
	c, err := consumer.New(b, o)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func appendN(t *testing.T, b *cairn.Broker, topic string, p int32, n int, tag string) {
	t.Helper()
	recs := make([]cairn.Record, n)
	for i := range recs {
		recs[i] = cairn.Record{Value: []byte(fmt.Sprintf("%s-%d", tag, i))}
	}
	_, err := b.Append(ctx, topic, p, recs...)
	require.NoError(t, err)
}

// pollN polls until n records arrived, failing after a generous timeout.
func pollN(t *testing.T, c *consumer.Consumer, n int) []*consumer.Record {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []*consumer.Record
	for len(out) < n {
		f, err := c.Poll(cctx)
		require.NoError(t, err)
		require.NoError(t, f.Err())
		out = append(out, f.Records...)
	}
	require.Len(t, out, n)
	return out
}

func TestAssignAndLongPoll(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	appendN(t, b, "t", 0, 3, "a")
	c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"t": {0, 1}}})
	got := pollN(t, c, 3)
	for i, r := range got {
		require.Equal(t, "t", r.Topic)
		require.Equal(t, int32(0), r.Partition)
		require.Equal(t, int64(i), r.Offset)
	}
	// Poll waits for the next append, on any assigned partition.
	go func() {
		time.Sleep(20 * time.Millisecond)
		appendN(t, b, "t", 1, 1, "late")
	}()
	got = pollN(t, c, 1)
	require.Equal(t, "late-0", string(got[0].Value))
	require.Equal(t, int32(1), got[0].Partition)

	// A Poll with nothing to read returns when ctx ends.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := c.Poll(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSubscribeSeesNewPartitionsAndTopics(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t", "later"}, MetadataInterval: 5 * time.Millisecond})
	appendN(t, b, "t", 0, 1, "p0")
	pollN(t, c, 1)
	require.NoError(t, b.CreatePartitions(ctx, "t", 3))
	require.NoError(t, b.CreateTopic(ctx, "later", 1, nil))
	appendN(t, b, "t", 2, 1, "p2")
	appendN(t, b, "later", 0, 1, "l")
	got := pollN(t, c, 2)
	seen := map[string]bool{}
	for _, r := range got {
		seen[string(r.Value)] = true
	}
	require.Equal(t, map[string]bool{"p2-0": true, "l-0": true}, seen)
	require.Len(t, c.Assignment(), 4)
}

func TestStartPositions(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	base := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < 10; i++ {
		_, err := b.Append(ctx, "t", 0, cairn.Record{Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Second)})
		require.NoError(t, err)
	}
	assign := map[string][]int32{"t": {0}}
	for _, tc := range []struct {
		start consumer.Offset
		first int64
	}{
		{consumer.Earliest(), 0},
		{consumer.At(7), 7},
		{consumer.AtTime(base.Add(4500 * time.Millisecond)), 5},
		{consumer.AtTime(base.Add(-time.Hour)), 0},
	} {
		c := newConsumer(t, b, &consumer.Options{Partitions: assign, Start: tc.start})
		got := pollN(t, c, int(10-tc.first))
		require.Equal(t, tc.first, got[0].Offset, tc.start.String())
	}
	c := newConsumer(t, b, &consumer.Options{Partitions: assign})
	offs, err := c.OffsetsForTimes(ctx, map[consumer.TopicPartition]time.Time{
		{Topic: "t", Partition: 0}: base.Add(2 * time.Second),
		{Topic: "t", Partition: 1}: base,
	})
	require.ErrorIs(t, err, cairn.ErrUnknownPartition)
	require.Nil(t, offs)
	offs, err = c.OffsetsForTimes(ctx, map[consumer.TopicPartition]time.Time{
		{Topic: "t", Partition: 0}: base.Add(2 * time.Second),
	})
	require.NoError(t, err)
	require.Equal(t, int64(2), offs[consumer.TopicPartition{Topic: "t", Partition: 0}])
	offs, err = c.OffsetsForTimes(ctx, map[consumer.TopicPartition]time.Time{
		{Topic: "t", Partition: 0}: time.Now().Add(time.Hour),
	})
	require.NoError(t, err)
	require.Equal(t, int64(-1), offs[consumer.TopicPartition{Topic: "t", Partition: 0}])

	for _, start := range []consumer.Offset{consumer.Latest(), consumer.AtTime(time.Now().Add(time.Hour))} {
		c := newConsumer(t, b, &consumer.Options{Partitions: assign, Start: start})
		_, hwm, err := b.Watermarks("t", 0)
		require.NoError(t, err)
		pos, err := c.Position(ctx, "t", 0)
		require.NoError(t, err)
		require.Equal(t, hwm, pos, start.String())
		appendN(t, b, "t", 0, 1, "new")
		got := pollN(t, c, 1)
		require.Equal(t, "new-0", string(got[0].Value))
	}
}

func TestSeekPauseResume(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	appendN(t, b, "t", 0, 5, "a")
	appendN(t, b, "t", 1, 5, "b")
	c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"t": {0, 1}}})
	require.NoError(t, c.Pause("t", 1))
	got := pollN(t, c, 5)
	for _, r := range got {
		require.Equal(t, int32(0), r.Partition)
	}
	require.NoError(t, c.Seek("t", 0, consumer.At(3)))
	got = pollN(t, c, 2)
	require.Equal(t, int64(3), got[0].Offset)
	require.NoError(t, c.Resume("t", 1))
	got = pollN(t, c, 5)
	require.Equal(t, int32(1), got[0].Partition)

	require.ErrorIs(t, c.Seek("t", 7, consumer.Earliest()), consumer.ErrNotAssigned)
	require.ErrorIs(t, c.Pause("nope", 0), consumer.ErrNotAssigned)
	_, err := c.Position(ctx, "t", 9)
	require.ErrorIs(t, err, consumer.ErrNotAssigned)
}

func TestResetPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy consumer.Reset
		want   int64 // first offset after the reset, or -1 for an error
	}{
		{consumer.ResetEarliest, 6},
		{consumer.ResetLatest, 10},
		{consumer.ResetError, -1},
	} {
		b := newBroker(t, map[string]int{"t": 1})
		appendN(t, b, "t", 0, 10, "x")
		c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"t": {0}},
			Start: consumer.At(2), OnOutOfRange: tc.policy})
		require.NoError(t, b.DeleteRecords(ctx, "t", 0, 6)) // offset 2 is gone
		if tc.want < 0 {
			f, err := c.Poll(ctx)
			require.NoError(t, err)
			require.ErrorIs(t, f.Err(), cairn.ErrOffsetOutOfRange)
			var fe *consumer.FetchError
			require.True(t, errors.As(f.Err(), &fe))
			require.Equal(t, consumer.FetchError{Topic: "t", Partition: 0, Err: fe.Err}, *fe)
			require.NoError(t, c.Seek("t", 0, consumer.Earliest()))
			require.Equal(t, int64(6), pollN(t, c, 4)[0].Offset)
			continue
		}
		n := 4
		if tc.policy == consumer.ResetLatest {
			// The reset happens at the first Poll: it moves to the end and
			// waits; only a later append is read.
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err := c.Poll(short)
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)
			appendN(t, b, "t", 0, 1, "after")
			n = 1
		}
		got := pollN(t, c, n)
		require.Equal(t, tc.want, got[0].Offset)
	}
}

// Records produced while consuming arrive exactly once, in order.
func TestNoDuplicatesWhileProducing(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 3})
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t"}, MaxPollRecords: 7})
	const per = 200
	var wg sync.WaitGroup
	for p := int32(0); p < 3; p++ {
		wg.Go(func() {
			for i := 0; i < per; i++ {
				_, err := b.Append(ctx, "t", p, cairn.Record{Value: []byte(fmt.Sprint(i))})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	next := map[int32]int64{}
	for n := 0; n < 3*per; {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		f, err := c.Poll(cctx)
		cancel()
		require.NoError(t, err)
		require.LessOrEqual(t, len(f.Records), 7)
		for _, r := range f.Records {
			require.Equal(t, next[r.Partition], r.Offset, "partition %d", r.Partition)
			require.Equal(t, fmt.Sprint(r.Offset), string(r.Value))
			next[r.Partition]++
			n++
		}
	}
	wg.Wait()
}

func TestRecordsIterator(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 5, "r")
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t"}})
	n := 0
	for rec, err := range c.Records(ctx) {
		require.NoError(t, err)
		require.Equal(t, int64(n), rec.Offset)
		if n++; n == 3 {
			break
		}
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	var last error
	for rec, err := range c.Records(short) {
		if err != nil {
			last = err
			continue
		}
		require.Equal(t, int64(n), rec.Offset)
		n++
	}
	require.Equal(t, 5, n)
	require.ErrorIs(t, last, context.DeadlineExceeded)
}

// Breaking out of Records at a partition's error loses nothing: the
// records the same Poll read from other partitions come with the next
// Poll. (They were skipped: the cursors had moved past them.)
func TestRecordsBreakAtError(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	appendN(t, b, "t", 0, 5, "v")
	c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"t": {0, 1}},
		OnOutOfRange: consumer.ResetError})
	require.NoError(t, c.Seek("t", 1, consumer.At(100))) // past the end: an error
	for rec, err := range c.Records(ctx) {
		require.Nil(t, rec, "the error comes first")
		var pe *consumer.FetchError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, int32(1), pe.Partition)
		break
	}
	pos, err := c.Position(ctx, "t", 0)
	require.NoError(t, err)
	require.Equal(t, int64(0), pos, "partition 0's records were not yielded")
	require.NoError(t, c.Seek("t", 1, consumer.At(0)))
	f, err := c.Poll(ctx)
	require.NoError(t, err)
	require.Empty(t, f.Errors)
	require.Len(t, f.Records, 5)
}

func TestCloseWakesPoll(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t"}})
	errc := make(chan error)
	go func() {
		_, err := c.Poll(ctx)
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, c.Close())
	require.ErrorIs(t, <-errc, cairn.ErrClosed)
	require.ErrorIs(t, c.Seek("t", 0, consumer.Earliest()), cairn.ErrClosed)
}

func TestInvalidOptions(t *testing.T) {
	b := newBroker(t, nil)
	for _, o := range []consumer.Options{
		{MaxPollRecords: -1},
		{OnOutOfRange: 7},
		{Start: consumer.At(-5)},
		{Partitions: map[string][]int32{"t": {-1}}},
	} {
		_, err := consumer.New(b, &o)
		require.ErrorIs(t, err, cairn.ErrInvalidArgument)
	}
}

func TestDeletedTopic(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1, "u": 1})
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t"}, Partitions: map[string][]int32{"u": {0}}})
	require.NoError(t, b.DeleteTopic(ctx, "u"))
	f, err := c.Poll(ctx)
	require.NoError(t, err)
	require.ErrorIs(t, f.Err(), cairn.ErrUnknownTopic)
}

// countingBroker counts fetches.
type countingBroker struct {
	*cairn.Broker
	fetches int
}

func (c *countingBroker) Fetch(ctx context.Context, topic string, p int32, offset int64, maxBytes int) (partition.Fetch, error) {
	c.fetches++
	return c.Broker.Fetch(ctx, topic, p, offset, maxBytes)
}

func (c *countingBroker) FetchInto(ctx context.Context, buf []byte, topic string, p int32, offset int64, maxBytes int) (partition.Fetch, []byte, error) {
	c.fetches++
	return c.Broker.FetchInto(ctx, buf, topic, p, offset, maxBytes)
}

// Records decoded beyond MaxPollRecords are kept for the next polls, not
// read and decoded again.
func TestPollKeepsDecodedRecords(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 100, "v") // one batch
	cb := &countingBroker{Broker: b}
	c := newConsumer(t, cb, &consumer.Options{Partitions: map[string][]int32{"t": {0}}, MaxPollRecords: 10})
	got := pollN(t, c, 100)
	for i, r := range got {
		require.Equal(t, int64(i), r.Offset)
	}
	require.Equal(t, 1, cb.fetches)
	// A seek drops what was kept.
	require.NoError(t, c.Seek("t", 0, consumer.At(95)))
	got = pollN(t, c, 5)
	require.Equal(t, int64(95), got[0].Offset)
	require.Equal(t, 2, cb.fetches)
}

// gatedBroker holds the first Watermarks call until gate closes, telling
// entered when it starts; later calls pass.
type gatedBroker struct {
	*cairn.Broker
	entered, gate chan struct{}
	calls         atomic.Int32
}

func (g *gatedBroker) Watermarks(topic string, p int32) (int64, int64, error) {
	if g.calls.Add(1) == 1 {
		close(g.entered)
		<-g.gate
	}
	return g.Broker.Watermarks(topic, p)
}

// Position and a Poll resolving Latest at the same time agree: the Poll
// reads from the position Position returned, though the log grew before
// the Poll's own lookup came back. (The Poll's later answer used to
// replace it: Position said 5, the Poll read from 8.)
func TestPositionAndPollAgreeOnLatest(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 5, "old")
	g := &gatedBroker{Broker: b, entered: make(chan struct{}), gate: make(chan struct{})}
	c := newConsumer(t, g, &consumer.Options{Partitions: map[string][]int32{"t": {0}}, Start: consumer.Latest()})
	polled := make(chan consumer.Fetches, 1)
	go func() {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		f, err := c.Poll(pctx)
		assert.NoError(t, err)
		polled <- f
	}()
	<-g.entered // the Poll is resolving Latest
	pos, err := c.Position(ctx, "t", 0)
	require.NoError(t, err)
	require.Equal(t, int64(5), pos)
	appendN(t, b, "t", 0, 3, "new")
	close(g.gate)
	f := <-polled
	require.Len(t, f.Records, 3)
	require.Equal(t, pos, f.Records[0].Offset)
}
