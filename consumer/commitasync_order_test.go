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

// slowFirstCommit holds a commit of offset 5 until the commit of offset 10
// is done (or 300ms passed): a network that delivers the later request
// first.
type slowFirstCommit struct {
	*cairn.Broker
	tenDone chan struct{}
	once    sync.Once
}

func (s *slowFirstCommit) CommitOffsets(ctx context.Context, req group.CommitRequest) error {
	for _, com := range req.Offsets {
		switch com.Offset {
		case 5:
			select {
			case <-s.tenDone:
			case <-time.After(300 * time.Millisecond):
			}
		case 10:
			defer s.once.Do(func() { close(s.tenDone) })
		}
	}
	return s.Broker.CommitOffsets(ctx, req)
}

// Asynchronous commits land in the order they were made, as Kafka's
// commitAsync (and franz-go's commits): a later commit is never
// overwritten by an earlier one that took longer.
func TestCommitAsyncInOrder(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 10, "v")
	sb := &slowFirstCommit{Broker: b, tenDone: make(chan struct{})}
	o := groupOpts("g", "t")
	o.DisableAutoCommit = true
	c := newConsumer(t, sb, o)
	got := pollN(t, c, 10)
	tp := consumer.TopicPartition{Topic: "t", Partition: 0}
	errs := make(chan error, 2)
	c.CommitAsync(map[consumer.TopicPartition]group.Committed{tp: {Offset: got[4].Offset + 1}}, func(err error) { errs <- err })
	c.CommitAsync(map[consumer.TopicPartition]group.Committed{tp: {Offset: got[9].Offset + 1}}, func(err error) { errs <- err })
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	com, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, int64(10), com[tp].Offset, "the last commit made stands")
}

// A Commit after a CommitAsync lands after it, as in Kafka (one
// connection to the coordinator, requests handled in order): Commit's
// offsets stand, and so do those Close commits.
func TestCommitAfterCommitAsyncStands(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 10, "v")
	sb := &slowFirstCommit{Broker: b, tenDone: make(chan struct{})}
	o := groupOpts("g", "t")
	o.DisableAutoCommit = true
	c := newConsumer(t, sb, o)
	got := pollN(t, c, 10)
	tp := consumer.TopicPartition{Topic: "t", Partition: 0}
	errs := make(chan error, 1)
	c.CommitAsync(map[consumer.TopicPartition]group.Committed{tp: {Offset: got[4].Offset + 1}}, func(err error) { errs <- err })
	require.NoError(t, c.CommitRecords(ctx, got...))
	require.NoError(t, <-errs)
	com, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, int64(10), com[tp].Offset, "the last commit made stands")
}
