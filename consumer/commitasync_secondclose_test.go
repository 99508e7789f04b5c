package consumer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// failedLeave holds LeaveGroup until release, then fails it (the member
// stays in the group until its session expires).
type failedLeave struct {
	*cairn.Broker
	entered, release chan struct{}
}

func (b failedLeave) LeaveGroup(context.Context, string, ...group.MemberIdentity) error {
	close(b.entered)
	<-b.release
	return errors.New("coordinator unreachable")
}

// A second Close returns as soon as the first has its result, before the
// first set noAsync: a CommitAsync after that Close returned was not
// refused, and as the member was still in the group (its LeaveGroup
// failed; a static member does not leave) it committed, on a consumer
// whose Close had returned.
func TestCommitAsyncAfterSecondCloseReturned(t *testing.T) {
	ctx := context.Background()
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	fb := failedLeave{Broker: b, entered: make(chan struct{}), release: make(chan struct{})}
	o := &Options{Group: "g", Topics: []string{"t"}, SessionTimeout: 5 * time.Second,
		HeartbeatInterval: 10 * time.Millisecond, RebalanceTimeout: 2 * time.Second, DisableAutoCommit: true}
	c, err := New(fb, o)
	require.NoError(t, err)
	for len(c.Assignment()) == 0 {
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, _ = c.Poll(pctx)
		cancel()
	}
	first := make(chan error, 1)
	go func() { first <- c.Close() }()
	<-fb.entered // the first Close is in LeaveGroup
	second := make(chan error, 1)
	go func() { second <- c.Close() }()
	time.Sleep(50 * time.Millisecond) // the second Close waits for the first
	c.mu.Lock()                       // the first Close stops at its next c.mu.Lock
	close(fb.release)
	select {
	case <-second: // returned while the first Close waits for mu
		c.mu.Unlock()
	case <-time.After(300 * time.Millisecond):
		c.mu.Unlock()
		require.NoError(t, <-second)
	}
	done := make(chan error, 1)
	tp0 := TopicPartition{Topic: "t", Partition: 0}
	c.CommitAsync(map[TopicPartition]group.Committed{tp0: {Offset: 7}}, func(err error) { done <- err })
	require.NoError(t, <-first)
	require.ErrorIs(t, <-done, partition.ErrClosed, "CommitAsync after a Close returned")
	got, err := b.FetchOffsets(ctx, "g", tp0)
	require.NoError(t, err)
	require.NotContains(t, got, tp0, "nothing committed after Close returned")
}
