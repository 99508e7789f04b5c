package cairn_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// An append whose wait is not yet called holds its partition open, so a
// DeleteTopic of its topic waits for it. A commit made before that wait
// (a producer promise committing a consumer's offsets, the acker then
// calling the next flight's wait) must not wait for the DeleteTopic: it
// did not before topicMu, and now neither side can move.
func TestCommitNotBehindDeleteTopicWaitingForAppend(t *testing.T) {
	b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1}) // SyncAlways
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	require.NoError(t, b.CreateTopic(ctx, "other", 1, nil))
	bt, err := log.Build([]log.Record{{Value: []byte("v")}}, log.None, nil, time.Now())
	require.NoError(t, err)
	_, wait, err := b.AppendBatchAsync(ctx, "t", 0, bt.Bytes())
	require.NoError(t, err)
	deleted := make(chan error, 1)
	go func() { deleted <- b.DeleteTopic(ctx, "t") }()
	time.Sleep(50 * time.Millisecond) // DeleteTopic now waits for wait
	committed := make(chan error, 1)
	go func() {
		committed <- b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
			Offsets: map[group.TopicPartition]group.Committed{{Topic: "other", Partition: 0}: {Offset: 1}}})
	}()
	select {
	case err := <-committed:
		require.NoError(t, err)
	case <-time.After(2 * time.Second):
		require.NoError(t, wait()) // let both go, so the test ends
		<-deleted
		<-committed
		t.Fatal("CommitOffsets (of another topic) blocked behind a DeleteTopic that waits for an append its caller holds: deadlock")
	}
	require.NoError(t, wait())
	require.NoError(t, <-deleted)
}

// The same with Close, which waits for the append too: a commit made
// meanwhile fails with ErrClosed at once, as before topicMu, instead of
// waiting for a Close that waits for its caller.
func TestCommitNotBehindCloseWaitingForAppend(t *testing.T) {
	b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1}) // SyncAlways
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	bt, err := log.Build([]log.Record{{Value: []byte("v")}}, log.None, nil, time.Now())
	require.NoError(t, err)
	_, wait, err := b.AppendBatchAsync(ctx, "t", 0, bt.Bytes())
	require.NoError(t, err)
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	time.Sleep(50 * time.Millisecond) // Close now waits for wait
	committed := make(chan error, 1)
	go func() {
		committed <- b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
			Offsets: map[group.TopicPartition]group.Committed{{Topic: "t", Partition: 0}: {Offset: 1}}})
	}()
	select {
	case err := <-committed:
		require.ErrorIs(t, err, cairn.ErrClosed)
	case <-time.After(2 * time.Second):
		wait()
		<-closed
		<-committed
		t.Fatal("CommitOffsets blocked behind a Close that waits for an append its caller holds: deadlock")
	}
	wait()
	require.NoError(t, <-closed)
}
