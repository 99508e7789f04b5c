package producer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// Room that lingering partitions took ahead must not make a FailFast
// Produce to another partition fail with ErrBufferFull while the buffer
// holds far fewer records than MaxBufferedRecords.
func TestCreditIdleFailFast(t *testing.T) {
	const max, parts = 4096, 32
	b := newBroker(t, map[string]int{"t": parts + 1})
	p := newProducer(t, b, &producer.Options{Partitioner: producer.Manual(), Linger: time.Hour,
		FailFast: true, MaxBufferedRecords: max})
	produce := func(part int32) error {
		var err error
		p.Produce(ctx, &producer.Record{Topic: "t", Partition: part, Value: []byte("v")}, func(_ *producer.Record, e error) {
			if e != nil {
				err = e
			}
		})
		return err
	}
	for i := range parts { // one record lingering in each
		require.NoError(t, produce(int32(i)))
	}
	accepted := parts
	for accepted < max {
		if err := produce(parts); err != nil {
			require.ErrorIs(t, err, producer.ErrBufferFull)
			break
		}
		accepted++
	}
	require.Equal(t, max, accepted, "ErrBufferFull with %d records buffered of %d", accepted, max)
}

// The same with a blocking Produce: it must not wait for room while
// partitions whose appends are slow hold half the buffer ahead, idle.
func TestCreditIdleBlocks(t *testing.T) {
	const max, parts = 4096, 32
	b := newBroker(t, map[string]int{"t": parts + 1})
	g := &gate{Broker: b, hold: make(chan struct{})}
	p, err := producer.New(ctx, g, &producer.Options{Partitioner: producer.Manual(), MaxBufferedRecords: max})
	require.NoError(t, err)
	opened := false
	t.Cleanup(func() {
		if !opened {
			close(g.hold)
		}
		require.NoError(t, p.Close(ctx))
	})
	produce := func(c context.Context, part int32) error {
		errc := make(chan error, 1)
		p.Produce(c, &producer.Record{Topic: "t", Partition: part, Value: []byte("v")}, func(_ *producer.Record, e error) {
			if e != nil {
				errc <- e
			}
		})
		select {
		case err := <-errc:
			return err
		default:
			return nil
		}
	}
	for i := range parts {
		require.NoError(t, produce(ctx, int32(i))) // its sender takes it and waits at the gate
		require.Eventually(t, func() bool { return g.appends.Load() == int32(i+1) }, 5*time.Second, time.Millisecond)
		require.NoError(t, produce(ctx, int32(i))) // queued behind it
	}
	accepted := 2 * parts
	for accepted <= max {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err := produce(short, parts)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		require.NoError(t, err)
		accepted++
	}
	require.Equal(t, max, accepted, "Produce waited for room with %d records buffered of %d", accepted, max)
	close(g.hold)
	opened = true
}
