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

// slowFirstRun is a group consumer, without auto-commit, that has polled
// the ten records of t/0 through a slowFirstCommit broker.
type slowFirstRun struct {
	b   *cairn.Broker
	c   *consumer.Consumer
	got []*consumer.Record
}

func newSlowFirstRun(t *testing.T) slowFirstRun {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 10, "v")
	o := groupOpts("g", "t")
	o.DisableAutoCommit = true
	c := newConsumer(t, &slowFirstCommit{Broker: b, tenDone: make(chan struct{})}, o)
	return slowFirstRun{b, c, pollN(t, c, 10)}
}

var tp0 = consumer.TopicPartition{Topic: "t", Partition: 0}

// commitAsync commits offset n asynchronously, sending its error to errs.
func (r slowFirstRun) commitAsync(n int64, errs chan<- error) {
	r.c.CommitAsync(map[consumer.TopicPartition]group.Committed{tp0: {Offset: n}}, func(err error) { errs <- err })
}

// requireCommitted checks the group's committed offset of t/0.
func (r slowFirstRun) requireCommitted(t *testing.T, want int64) {
	com, err := r.b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, want, com[tp0].Offset, "the last commit made stands")
}

// Asynchronous commits land in the order they were made, as Kafka's
// commitAsync (and franz-go's commits): a later commit is never
// overwritten by an earlier one that took longer.
func TestCommitAsyncInOrder(t *testing.T) {
	r := newSlowFirstRun(t)
	errs := make(chan error, 2)
	r.commitAsync(r.got[4].Offset+1, errs)
	r.commitAsync(r.got[9].Offset+1, errs)
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	r.requireCommitted(t, 10)
}

// A Commit after a CommitAsync lands after it, as in Kafka (one
// connection to the coordinator, requests handled in order): Commit's
// offsets stand, and so do those Close commits.
func TestCommitAfterCommitAsyncStands(t *testing.T) {
	r := newSlowFirstRun(t)
	errs := make(chan error, 1)
	r.commitAsync(r.got[4].Offset+1, errs)
	require.NoError(t, r.c.CommitRecords(ctx, r.got...))
	require.NoError(t, <-errs)
	r.requireCommitted(t, 10)
}
