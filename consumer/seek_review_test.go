package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
)

// A Seek to an offset is the position at once, as Kafka's seek: Close
// (and a revoke, and auto-commit) commits it, even before a Poll.
func TestSeekAtIsCommittedOnClose(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 10, "v")
	c := newConsumer(t, b, groupOpts("g", "t"))
	got := pollN(t, c, 10)
	require.NoError(t, c.CommitRecords(ctx, got...))
	require.NoError(t, c.Seek("t", 0, consumer.At(3))) // reprocess from 3
	require.NoError(t, c.Close())
	com, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, int64(3), com[consumer.TopicPartition{Topic: "t", Partition: 0}].Offset,
		"Close commits the position Seek set")
}

// A negative offset is refused, as Kafka's seek, and the position stays.
func TestSeekNegativeOffsetRefused(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 5, "a")
	c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"t": {0}}})
	pollN(t, c, 5)
	require.ErrorIs(t, c.Seek("t", 0, consumer.At(-3)), cairn.ErrInvalidArgument)
	pos, err := c.Position(ctx, "t", 0)
	require.NoError(t, err)
	require.Equal(t, int64(5), pos)
}

// A Seek inside a Records loop takes effect at the next record: the
// records the Poll returned from that partition before the Seek are not
// yielded after it.
func TestRecordsSeekInLoop(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 10, "v")
	c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"t": {0}}})
	var got []int64
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for r, err := range c.Records(short) {
		require.NoError(t, err)
		got = append(got, r.Offset)
		if len(got) == 3 {
			require.NoError(t, c.Seek("t", 0, consumer.At(8)))
		}
		if r.Offset == 9 && len(got) > 3 {
			break
		}
	}
	require.Equal(t, []int64{0, 1, 2, 8, 9}, got)
}
