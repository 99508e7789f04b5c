package consumer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A position inside a batch whose records from there on were compacted
// away: the fetch decodes no record, but later batches hold records. Poll
// must return them, not wait for the next append.
func TestPollSkipsCompactedTailOfBatch(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem(), CleanupInterval: -1, Durability: cairn.NoSync})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, cairn.TopicConfig{"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0"}))
	var first []cairn.Record
	for i := 0; i < 10; i++ {
		first = append(first, cairn.Record{Key: []byte(fmt.Sprint("k", i)), Value: []byte("v1")})
	}
	_, err = b.Append(ctx, "tbl", 0, first...) // offsets 0..9, one batch
	require.NoError(t, err)
	var second []cairn.Record
	for i := 5; i < 10; i++ {
		second = append(second, cairn.Record{Key: []byte(fmt.Sprint("k", i)), Value: []byte("v2")})
	}
	_, err = b.Append(ctx, "tbl", 0, second...) // offsets 10..14 supersede 5..9
	require.NoError(t, err)
	_, err = b.Append(ctx, "tbl", 0, cairn.Record{Key: []byte("z"), Value: []byte("v")}) // 15
	require.NoError(t, err)
	require.NoError(t, b.Cleanup(ctx))

	c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"tbl": {0}},
		Start: consumer.At(5), MaxPartitionBytes: 1})
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	f, err := c.Poll(short)
	require.NoError(t, err, "records 10..15 are there to read")
	require.NotEmpty(t, f.Records)
	require.Equal(t, int64(10), f.Records[0].Offset)
}

// A topic deleted while Poll waits on it: Poll reports it.
func TestDeleteWhilePolling(t *testing.T) {
	for _, o := range []*consumer.Options{
		{Partitions: map[string][]int32{"t": {0}}},
		{Topics: []string{"t"}, MetadataInterval: time.Hour},
	} {
		b := newBroker(t, map[string]int{"t": 1})
		c := newConsumer(t, b, o)
		go func() {
			time.Sleep(50 * time.Millisecond)
			b.DeleteTopic(ctx, "t")
		}()
		short, cancel := context.WithTimeout(ctx, 3*time.Second)
		f, err := c.Poll(short)
		cancel()
		require.NoError(t, err)
		require.Error(t, f.Err())
	}
}

// A subscribed topic deleted and recreated between two Polls: the new
// topic is read from Start (as when a Poll sees the deletion), not from
// the old incarnation's position.
func TestSubscribedTopicRecreatedBetweenPolls(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 5, "old")
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t"}, MetadataInterval: 5 * time.Millisecond})
	pollN(t, c, 5)
	require.NoError(t, b.DeleteTopic(ctx, "t"))
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	appendN(t, b, "t", 0, 8, "new")
	var got []*consumer.Record
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for len(got) == 0 {
		f, err := c.Poll(pctx)
		require.NoError(t, err)
		got = append(got, f.Records...)
	}
	require.Equal(t, "new-0", string(got[0].Value), "first record read from the recreated topic")
}
