package producer_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// Kafka's sticky partitioner (KIP-480) keeps keyless records on one
// partition until that partition's batch is sent: records produced within
// one linger, well under BatchBytes, fill one batch on one partition.
// (Three topics, so that a lucky random pick does not hide the bug.)
func TestStickyFillsOneBatch(t *testing.T) {
	topics := map[string]int{"a": 8, "b": 8, "c": 8}
	b := newBroker(t, topics)
	p := newProducer(t, b, &producer.Options{Linger: 500 * time.Millisecond})
	for topic := range topics {
		for range 50 {
			p.Produce(ctx, &producer.Record{Topic: topic, Value: []byte("keyless")}, nil)
		}
	}
	require.NoError(t, p.Flush(ctx))
	for topic := range topics {
		var used []int32
		for part := int32(0); part < 8; part++ {
			if n := len(readAll(t, b, topic, part)); n > 0 {
				used = append(used, part)
			}
		}
		require.Len(t, used, 1, "50 keyless records within one linger went to partitions %v of %s", used, topic)
	}
}
