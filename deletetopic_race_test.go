package cairn_test

import (
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A commit racing DeleteTopic either lands before the deletion, which
// removes it, or is refused: a topic created again under the name never
// inherits it (it did in 1 of some 100 rounds).
func TestCommitRacesDeleteTopic(t *testing.T) {
	b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1})
	defer b.Close()
	tp := group.TopicPartition{Topic: "t", Partition: 0}
	for i := 0; i < 400; i++ {
		require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
				Offsets: map[group.TopicPartition]group.Committed{tp: {Offset: 42}}})
		}()
		go func() {
			defer wg.Done()
			require.NoError(t, b.DeleteTopic(ctx, "t"))
		}()
		wg.Wait()
		require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
		got, err := b.FetchOffsets(ctx, "g", tp)
		require.NoError(t, err)
		require.NotContains(t, got, tp, "iteration %d: recreated topic inherited a commit", i)
		require.NoError(t, b.DeleteTopic(ctx, "t"))
	}
}

// Close waits for a DeleteTopic in flight: the call either fails and
// changes nothing, or deletes the topic and its commits. It deleted the
// topic, then failed to remove the commits with ErrClosed, and a topic
// created again after reopening inherited them.
func TestDeleteTopicRacesClose(t *testing.T) {
	for i := 0; i < 100; i++ {
		fs := vfs.NewMem()
		b := openMem(t, fs, &cairn.Options{CleanupInterval: -1})
		require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
		tp := group.TopicPartition{Topic: "t", Partition: 0}
		require.NoError(t, b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
			Offsets: map[group.TopicPartition]group.Committed{tp: {Offset: 42}}}))
		done := make(chan error)
		go func() { done <- b.DeleteTopic(ctx, "t") }()
		time.Sleep(time.Duration(i%20) * 10 * time.Microsecond)
		require.NoError(t, b.Close())
		derr := <-done
		b = openMem(t, fs, &cairn.Options{CleanupInterval: -1})
		names, _ := b.Topics(ctx)
		deleted := len(names) == 0
		if deleted {
			require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
			got, err := b.FetchOffsets(ctx, "g", tp)
			require.NoError(t, err)
			if _, ok := got[tp]; ok || derr != nil {
				b.Close()
				t.Fatalf("iteration %d: DeleteTopic returned %v, topic deleted, recreated topic inherited commit: %v", i, derr, ok)
			}
		} else if derr == nil {
			b.Close()
			t.Fatalf("DeleteTopic nil but topic there")
		}
		b.Close()
	}
}
