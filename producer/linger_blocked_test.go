package producer_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// A Produce waiting for room must not wait out the linger of the batches
// holding it: as Kafka's accumulator (a batch is sendable once a send
// waits for buffer memory), they are sent at once.
func TestProduceWaitingForRoomSendsLingering(t *testing.T) {
	p := fullOfLingering(t)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	errc := make(chan error, 1)
	p.Produce(pctx, &producer.Record{Topic: "t", Value: []byte("second")}, func(_ *producer.Record, err error) { errc <- err })
	require.Less(t, time.Since(start), time.Second, "Produce waited out the linger for room")
	require.NoError(t, p.Flush(ctx))
	require.NoError(t, <-errc)
}

// ProduceSync must not wait out the linger even when the buffer is full
// of lingering records: its Produce waits for room that only their
// sending frees, and nothing woke their senders before it returned.
func TestProduceSyncFullBufferOfLingering(t *testing.T) {
	p := fullOfLingering(t)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	res := p.ProduceSync(sctx, &producer.Record{Topic: "t", Value: []byte("sync")})
	require.NoError(t, res.FirstErr(), "after %v", time.Since(start))
	require.EqualValues(t, 1, res[0].Record.Offset)
}

// fullOfLingering returns a producer (Linger 1h, room for one record)
// whose buffer is full of a record its sender lingers on.
func fullOfLingering(t *testing.T) *producer.Producer {
	b := newBroker(t, map[string]int{"t": 1})
	p := newProducer(t, b, &producer.Options{Linger: time.Hour, MaxBufferedRecords: 1})
	p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("lingering")}, nil)
	time.Sleep(50 * time.Millisecond) // its sender is lingering now
	return p
}
