package cairn_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A DeleteTopic clears the topic's commits only once the commits in
// flight (holding topicMu's read side) are stored. A topic created again
// under the name meanwhile must not show the deleted one's commits: a
// consumer of the new topic would start from them, skipping its records.
// Kafka refuses to create a topic still being deleted.
func TestCreateTopicDuringDeleteTopicSeesNoOldCommits(t *testing.T) {
	var armed atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	now := func() time.Time {
		if armed.CompareAndSwap(true, false) {
			close(entered)
			<-release // a commit in flight (a slow fsync, say)
		}
		return time.Now()
	}
	b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1, Now: now})
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	require.NoError(t, b.CreateTopic(ctx, "u", 1, nil))
	tp := group.TopicPartition{Topic: "t", Partition: 0}
	require.NoError(t, b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{tp: {Offset: 42}}}))

	// Another group's commit of another topic, in flight.
	armed.Store(true)
	committed := make(chan error, 1)
	go func() {
		committed <- b.CommitOffsets(ctx, group.CommitRequest{Group: "other", Generation: -1,
			Offsets: map[group.TopicPartition]group.Committed{{Topic: "u", Partition: 0}: {Offset: 1}}})
	}()
	<-entered
	deleted := make(chan error, 1)
	go func() { deleted <- b.DeleteTopic(ctx, "t") }()
	for i := 0; i < 1000; i++ { // until the topic left the registry
		if _, err := b.Partition("t", 0); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	created := make(chan error, 1)
	go func() { created <- b.CreateTopic(ctx, "t", 1, nil) }()
	var stale map[group.TopicPartition]group.Committed
	select {
	case err := <-created:
		require.NoError(t, err)
		stale, err = b.FetchOffsets(ctx, "g", tp)
		require.NoError(t, err)
		close(release)
	case <-time.After(300 * time.Millisecond): // CreateTopic waits for the DeleteTopic
		close(release)
		require.NoError(t, <-created)
	}
	require.NoError(t, <-committed)
	require.NoError(t, <-deleted)
	require.NotContains(t, stale, tp, "the topic created again (before DeleteTopic returned) showed the deleted topic's commit")
	got, err := b.FetchOffsets(ctx, "g", tp)
	require.NoError(t, err)
	require.NotContains(t, got, tp)
}
