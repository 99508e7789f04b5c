package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/partition"
	"github.com/stretchr/testify/require"
)

// gateFirstCommit holds the first commit until release; later commits
// pass.
type gateFirstCommit struct {
	*cairn.Broker
	entered chan struct{}
	release chan struct{}
}

func (b gateFirstCommit) CommitOffsets(ctx context.Context, req group.CommitRequest) error {
	select {
	case b.entered <- struct{}{}:
		<-b.release
	default:
	}
	return b.Broker.CommitOffsets(ctx, req)
}

// A CommitAsync from another goroutine while Close waits for the commits
// in flight called WaitGroup.Add from zero concurrently with Wait, which
// WaitGroup forbids (the race detector reports it; at the wrong instant
// it panics), and started a commit Close did not wait for. As Kafka's
// commitAsync on a closed consumer, it now fails with ErrClosed.
func TestCommitAsyncDuringClose(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	// entered is buffered: unbuffered, the non-blocking send let the first
	// commit through whenever it ran before the test waited on entered,
	// and the test hung.
	gb := gateFirstCommit{Broker: b, entered: make(chan struct{}, 1), release: make(chan struct{})}
	o := groupOpts("g", "t")
	o.DisableAutoCommit = true
	c := newConsumer(t, gb, o)
	for len(c.Assignment()) == 0 {
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, _ = c.Poll(pctx)
		cancel()
	}
	tp0 := consumer.TopicPartition{Topic: "t", Partition: 0}
	first := make(chan error, 1)
	c.CommitAsync(map[consumer.TopicPartition]group.Committed{tp0: {Offset: 0}}, func(err error) { first <- err })
	<-gb.entered // the first commit is in flight
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	require.Eventually(t, func() bool { // Close left the group: it waits for the commit now
		d, err := b.Groups().DescribeGroup(ctx, "g")
		return err == nil && len(d.Members) == 0
	}, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	close(gb.release)
	<-first
	second := make(chan error, 1)
	c.CommitAsync(map[consumer.TopicPartition]group.Committed{tp0: {Offset: 0}}, func(err error) { second <- err })
	require.NoError(t, <-closed)
	require.ErrorIs(t, <-second, partition.ErrClosed)
}
