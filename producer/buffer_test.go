package producer

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/partition"
	"github.com/stretchr/testify/require"
)

// Many goroutines take and give back room in a buffer of three records:
// never more than three hold room, and every one gets through (a failed
// attempt's passing count must not leave a waiter asleep for good).
func TestBufferConcurrentBound(t *testing.T) {
	var b buffer
	b.init(1<<20, 3, false)
	var held, peak atomic.Int32
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 16 {
		wg.Go(func() {
			for range 200 {
				require.NoError(t, b.acquire(ctx, 10))
				n := held.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if n > 3 {
					t.Errorf("%d records hold room in a buffer of 3", n)
				}
				held.Add(-1)
				b.release(10, 1)
			}
		})
	}
	wg.Wait()
	require.Equal(t, uint64(0), b.used.Load(), "no bytes or records left")
	require.LessOrEqual(t, peak.Load(), int32(3))
}

// A record larger than the whole buffer gets in alone, and then nothing
// else does until it is released.
func TestBufferOversizedAlone(t *testing.T) {
	var b buffer
	b.init(100, 10, true)
	require.NoError(t, b.acquire(context.Background(), 500))
	require.ErrorIs(t, b.acquire(context.Background(), 1), ErrBufferFull)
	b.release(500, 1)
	require.NoError(t, b.acquire(context.Background(), 1))
}

// A Produce that took room before close finishes; after close, room is
// refused and nothing is left taken.
func TestBufferClose(t *testing.T) {
	var b buffer
	b.init(1<<20, 10, false)
	require.NoError(t, b.acquire(context.Background(), 5))
	b.close()
	require.ErrorIs(t, b.acquire(context.Background(), 5), partition.ErrClosed)
	require.Equal(t, int64(1), b.records())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.waitEmpty(ctx), context.DeadlineExceeded)
	b.release(5, 1)
	require.NoError(t, b.waitEmpty(context.Background()))
}
