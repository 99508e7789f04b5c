package producer_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// deletedUnder answers the first append as cairn.Broker does when the
// topic is deleted between its lookup of the partition and the append (the
// partition closes under it: cairn.ErrClosed), after deleting the topic
// and, with recreate, creating it again.
type deletedUnder struct {
	*cairn.Broker
	recreate bool
	done     atomic.Bool
}

func (d *deletedUnder) AppendLogBatchAsync(ctx context.Context, topic string, p int32, b log.Batch) (int64, func() error, error) {
	if !d.done.Swap(true) {
		if err := d.Broker.DeleteTopic(ctx, topic); err != nil {
			return 0, nil, err
		}
		if d.recreate {
			if err := d.Broker.CreateTopic(ctx, topic, 1, nil); err != nil {
				return 0, nil, err
			}
		}
		return 0, nil, cairn.ErrClosed
	}
	return d.Broker.AppendLogBatchAsync(ctx, topic, p, b)
}

// A topic deleted under an append is not the producer closing: as Kafka's
// producer on UNKNOWN_TOPIC_OR_PARTITION, the batch goes to the topic
// created again under the name, or fails with ErrUnknownTopic. It failed
// with ErrClosed, which the producer documents as "after Close", while
// the producer went on working.
func TestTopicDeletedUnderAppend(t *testing.T) {
	for _, recreate := range []bool{true, false} {
		b := newBroker(t, map[string]int{"t": 1})
		// Without retries, the batch fails, but not as closed.
		p0 := newProducer(t, &deletedUnder{Broker: b, recreate: true}, &producer.Options{Retries: -1})
		err := p0.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("v")}).FirstErr()
		require.ErrorIs(t, err, cairn.ErrUnknownPartition)

		p := newProducer(t, &deletedUnder{Broker: b, recreate: recreate}, nil)
		r := &producer.Record{Topic: "t", Value: []byte("v")}
		err = p.ProduceSync(ctx, r).FirstErr()
		require.NotErrorIs(t, err, cairn.ErrClosed, "recreate %v", recreate)
		if !recreate {
			require.ErrorIs(t, err, cairn.ErrUnknownTopic)
			continue
		}
		require.NoError(t, err)
		got := readAll(t, b, "t", 0)
		require.Len(t, got, 1)
		require.Equal(t, "v", string(got[0].Value))
		require.Equal(t, r.Offset, got[0].Offset)
	}
}
