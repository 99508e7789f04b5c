package consumer_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
)

// Close's doc: "a waiting Poll returns ErrClosed, as do later calls".
// OffsetsForTimes after Close answered from the broker as if the consumer
// were open (Kafka's offsetsForTimes on a closed consumer fails too).
func TestOffsetsForTimesAfterCloseIsErrClosed(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 3, "x")
	c, err := consumer.New(b, &consumer.Options{Partitions: map[string][]int32{"t": {0}}})
	require.NoError(t, err)
	tp := consumer.TopicPartition{Topic: "t", Partition: 0}
	got, err := c.OffsetsForTimes(ctx, map[consumer.TopicPartition]time.Time{tp: time.Unix(0, 0)})
	require.NoError(t, err)
	require.EqualValues(t, 0, got[tp])

	require.NoError(t, c.Close())
	_, err = c.OffsetsForTimes(ctx, map[consumer.TopicPartition]time.Time{tp: time.Unix(0, 0)})
	require.ErrorIs(t, err, cairn.ErrClosed)
}
