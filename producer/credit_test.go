package producer_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// creditRun is a producer whose appends wait at a gate until released.
type creditRun struct {
	t  *testing.T
	g  *gate
	p  *producer.Producer
	wg sync.WaitGroup // the promises
}

func newCreditRun(t *testing.T, maxRecords int) *creditRun {
	b := newBroker(t, map[string]int{"t": 1})
	r := &creditRun{t: t, g: &gate{Broker: b, hold: make(chan struct{})}}
	var err error
	r.p, err = producer.New(ctx, r.g, &producer.Options{MaxBufferedRecords: maxRecords})
	require.NoError(t, err)
	t.Cleanup(func() {
		if !t.Failed() { // with room left taken, Close would wait for good
			require.NoError(t, r.p.Close(ctx))
		}
	})
	return r
}

// produce produces a record with ctx c, returning the error it failed
// with at once (a Produce that cannot take room fails before it returns).
func (r *creditRun) produce(c context.Context) error {
	var err error
	failed := make(chan struct{})
	r.wg.Add(1)
	r.p.Produce(c, &producer.Record{Topic: "t", Value: []byte("v")}, func(_ *producer.Record, e error) {
		if e != nil {
			err = e
			close(failed)
		}
		r.wg.Done()
	})
	select {
	case <-failed:
		return err
	default:
		return nil
	}
}

// drain opens the gate and checks that every record was appended and
// that nothing holds room in the buffer any more.
func (r *creditRun) drain(want int) {
	close(r.g.hold)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(r.t, r.p.Flush(fctx))
	r.wg.Wait()
	recs, bytes := producer.Buffered(r.p)
	require.Zero(r.t, recs, "no room left taken once drained")
	require.Zero(r.t, bytes)
	require.Zero(r.t, producer.Credited(r.p, "t", 0))
	require.Len(r.t, readAll(r.t, r.g.Broker, "t", 0), want)
}

// While a partition's queue is not empty, Produce takes room that the
// partition took ahead (no atomic on the buffer per record); what is
// left of it goes back once the queue is empty, so a flushed producer's
// buffer is empty (and Close does not wait for good).
func TestCreditGoesBack(t *testing.T) {
	r := newCreditRun(t, 1024)
	for range 100 { // the first batch waits at the gate; the rest queue
		require.NoError(t, r.produce(ctx))
	}
	require.Positive(t, producer.Credited(r.p, "t", 0), "room taken ahead while the queue is not empty")
	r.drain(100)
}

// Room taken ahead counts against the buffer's bound: Produce blocks once
// records and that room fill it, and that room is a small share of it.
func TestCreditCountsAgainstBound(t *testing.T) {
	const max = 1024
	r := newCreditRun(t, max)
	var accepted int
	for accepted <= max {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err := r.produce(short)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		require.NoError(t, err)
		accepted++
	}
	require.LessOrEqual(t, accepted, max)
	require.Greater(t, accepted, max-max/16)
	r.drain(accepted)
}
