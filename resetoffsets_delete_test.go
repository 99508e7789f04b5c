package cairn_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// deleteAfterResolve runs a DeleteTopic of the topic ResetOffsets is
// resolving right after it resolved, as one racing it would.
type deleteAfterResolve struct {
	*cairn.Broker
	once    sync.Once
	deleted chan error
}

func (d *deleteAfterResolve) Watermarks(topic string, p int32) (int64, int64, error) {
	ls, hw, err := d.Broker.Watermarks(topic, p)
	d.once.Do(func() {
		go func() { d.deleted <- d.DeleteTopic(ctx, topic) }()
		// Wait until the topic is gone from the registry (DeleteTopic's
		// first step); its commits may be cleared now or later.
		for i := 0; i < 2000; i++ {
			if _, perr := d.Partition(topic, p); errors.Is(perr, cairn.ErrUnknownTopic) {
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	return ls, hw, err
}

// Groups().ResetOffsets commits through the coordinator, not through
// Broker.CommitOffsets: a reset racing DeleteTopic must not land after the
// topic's commits were cleared, or a topic created again inherits it.
func TestResetOffsetsRacesDeleteTopic(t *testing.T) {
	b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1})
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	_, err := b.Append(ctx, "t", 0, cairn.Record{Value: []byte("a")}, cairn.Record{Value: []byte("b")})
	require.NoError(t, err)
	d := &deleteAfterResolve{Broker: b, deleted: make(chan error, 1)}
	b.Groups().SetPartitions(d)
	defer b.Groups().SetPartitions(b)
	tp := group.TopicPartition{Topic: "t", Partition: 0}
	rerr := b.Groups().ResetOffsets(ctx, "g", group.ToLatest(), tp)
	require.NoError(t, <-d.deleted)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	got, err := b.FetchOffsets(ctx, "g", tp)
	require.NoError(t, err)
	require.NotContains(t, got, tp, "ResetOffsets returned %v; topic deleted and created again inherited the reset's commit", rerr)
}
