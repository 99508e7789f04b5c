package producer_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// A second Close, while the first is still flushing, must honour its own
// ctx: with one already cancelled it returns at once with ctx's error
// instead of blocking until the first Close is done.
func TestSecondCloseHonoursContext(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	g := &gate{Broker: b, hold: make(chan struct{})}
	p, err := producer.New(ctx, g, nil)
	require.NoError(t, err)
	p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("v")}, nil)
	require.Eventually(t, func() bool { return g.appends.Load() == 1 }, 5*time.Second, time.Millisecond)
	first := make(chan error, 1)
	go func() { first <- p.Close(ctx) }()
	require.Eventually(t, func() bool { return producer.Waiting(p) }, 5*time.Second, time.Millisecond)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	second := make(chan error, 1)
	go func() { second <- p.Close(cancelled) }()
	select {
	case err := <-second:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(2 * time.Second):
		close(g.hold)
		require.NoError(t, <-first)
		<-second
		t.Fatal("second Close with a cancelled ctx blocked until the first Close finished")
	}
	close(g.hold)
	require.NoError(t, <-first)
}

// Close is idempotent: a Close after one that failed (its ctx ended and
// records failed with ErrClosed) must not report success.
func TestCloseAgainReportsFirstError(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	g := &gate{Broker: b, hold: make(chan struct{})}
	p, err := producer.New(ctx, g, nil)
	require.NoError(t, err)
	var failed atomic.Int32
	produce := func() {
		p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("v")}, func(_ *producer.Record, err error) {
			if err != nil {
				failed.Add(1)
			}
		})
	}
	produce() // in flight, held by the gate
	require.Eventually(t, func() bool { return g.appends.Load() == 1 }, 5*time.Second, time.Millisecond)
	produce() // waits behind it, and fails when Close gives up
	produce()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	go func() { time.Sleep(50 * time.Millisecond); close(g.hold) }()
	require.ErrorIs(t, p.Close(short), context.DeadlineExceeded)
	require.NotZero(t, failed.Load(), "records failed with ErrClosed")
	require.Error(t, p.Close(ctx), "second Close reported success although records were lost")
}

// Two Closes racing a Produce that got in before them: neither Close may
// return before the record's promise has run (Close's contract: it sends
// what is buffered and waits for it).
func TestConcurrentCloseWaitsForFlush(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	for round := range 3000 {
		p, err := producer.New(ctx, b, &producer.Options{DisableIdempotence: true})
		require.NoError(t, err)
		var promised atomic.Bool
		var early atomic.Int32
		var start, wg sync.WaitGroup
		start.Add(1)
		produced := make(chan struct{})
		wg.Go(func() {
			start.Wait()
			p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("v")}, func(_ *producer.Record, err error) {
				if err == nil {
					promised.Store(true)
				}
			})
			close(produced)
		})
		for range 2 {
			wg.Go(func() {
				start.Wait()
				_ = p.Close(ctx)
				if !promised.Load() {
					early.Add(1)
				}
			})
		}
		start.Done()
		wg.Wait()
		<-produced
		if promised.Load() && early.Load() > 0 {
			t.Fatalf("round %d: a Close returned before the record it had to flush was appended", round)
		}
	}
}
