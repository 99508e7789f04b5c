package producer_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// hungIDBroker loses its first append's acknowledgement (so the next
// batch needs a new producer id), then hangs InitProducerID until its
// ctx ends, as a peer that stopped answering.
type hungIDBroker struct{ inits atomic.Int32 }

func (*hungIDBroker) PartitionCount(string) (int, error) { return 1, nil }
func (h *hungIDBroker) InitProducerID(ctx context.Context) (int64, int16, error) {
	if h.inits.Add(1) == 1 {
		return 1, 0, nil // New's
	}
	<-ctx.Done()
	return 0, 0, ctx.Err()
}
func (*hungIDBroker) AppendLogBatch(context.Context, string, int32, log.Batch) (int64, error) {
	return 0, errors.New("connection reset before the ack")
}

// A batch whose append waits for a new producer id when Close's ctx ends
// fails with ErrClosed, as Close documents for appends in flight.
func TestCloseEndsNewIdentityWithErrClosed(t *testing.T) {
	h := &hungIDBroker{}
	p, err := producer.New(ctx, h, &producer.Options{Retries: -1})
	require.NoError(t, err)
	require.Error(t, p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("a")}).FirstErr())
	errs := make(chan error, 1)
	p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("b")}, func(_ *producer.Record, err error) { errs <- err })
	require.Eventually(t, func() bool { return h.inits.Load() == 2 }, 5*time.Second, time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, p.Close(cctx), context.DeadlineExceeded)
	require.ErrorIs(t, <-errs, cairn.ErrClosed, "the batch waiting for its producer id")
}
