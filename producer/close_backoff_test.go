package producer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// downBroker fails every append with an error that may be transient.
type downBroker struct{ tried chan struct{} }

func (*downBroker) PartitionCount(string) (int, error)                   { return 1, nil }
func (*downBroker) InitProducerID(context.Context) (int64, int16, error) { return 1, 0, nil }
func (d *downBroker) AppendLogBatch(context.Context, string, int32, log.Batch) (int64, error) {
	select {
	case d.tried <- struct{}{}:
	default:
	}
	return 0, errors.New("connection refused")
}

// Close returns once its ctx ends even while a sender waits out a retry
// backoff: the backoff is not an append, so cancelling the appends' ctx
// did not cut it short.
func TestCloseHonoursContextDuringBackoff(t *testing.T) {
	d := &downBroker{tried: make(chan struct{}, 1)}
	p, err := producer.New(ctx, d, &producer.Options{RetryBackoff: 3 * time.Second})
	require.NoError(t, err)
	errc := make(chan error, 1)
	p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("v")}, func(_ *producer.Record, err error) { errc <- err })
	<-d.tried // the sender now sleeps its backoff
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.ErrorIs(t, p.Close(cctx), context.DeadlineExceeded)
	require.Less(t, time.Since(start), time.Second, "Close outlived its ctx")
	require.Error(t, <-errc)
}
