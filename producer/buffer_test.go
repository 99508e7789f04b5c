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

// grow never shrinks the array, doubles it when more than half of it is
// pending, and copies only the pending records, in order.
func TestGrowSizes(t *testing.T) {
	p := &Producer{opts: Options{MaxBufferedRecords: 100}}
	for _, c := range []struct{ cap, head, want int }{
		{0, 0, 64},        // first record
		{64, 0, 128},      // all pending
		{1000, 400, 2000}, // 600 pending: double
		{1000, 500, 1000}, // half pending: as large
		{1000, 990, 1000}, // 10 pending: not smaller
		{1000, 499, 2000}, // 501 pending
		{100, 90, 100},    // 10 pending: the old size, above the least of 64
	} {
		q := make([]pending, c.cap)
		for i := range q {
			q[i].size = i
		}
		pt := &part{p: p, q: q, head: c.head}
		before := p.queueCap.Load()
		pt.grow()
		require.Equal(t, c.want, cap(pt.q), "cap %d head %d", c.cap, c.head)
		require.Equal(t, 0, pt.head)
		require.Len(t, pt.q, c.cap-c.head)
		for i, r := range pt.q {
			require.Equal(t, c.head+i, r.size)
		}
		require.Equal(t, int64(c.want-c.cap), p.queueCap.Load()-before)
	}
}

// An empty queue keeps its array through the idle moment unless the
// producer's arrays together exceed four times MaxBufferedRecords and the
// array is larger than maxIdleQueue.
func TestIdleQueueKept(t *testing.T) {
	for _, c := range []struct {
		cap, total int
		kept       bool
	}{
		{maxIdleQueue * 2, 4 * 100_000, true},    // within the bound
		{maxIdleQueue * 2, 4*100_000 + 1, false}, // over it
		{maxIdleQueue, 10 * 100_000, true},       // small arrays always stay
	} {
		p := &Producer{opts: Options{MaxBufferedRecords: 100_000}}
		p.queueCap.Store(int64(c.total))
		pt := &part{p: p, q: make([]pending, 5, c.cap), head: 5}
		batch, _, _ := pt.next(1 << 20)
		require.Empty(t, batch)
		require.Equal(t, c.kept, pt.q != nil, "cap %d, producer total %d", c.cap, c.total)
		if !c.kept {
			require.Equal(t, int64(c.total-c.cap), p.queueCap.Load())
		}
	}
}

// Flush and Close wait for an empty buffer. When the last release comes
// while a failing attempt (FailFast, or a Produce after Close) is counted
// in, the attempt's give-back empties the buffer, and must wake them:
// waitEmpty has no recheck timer. (Found by a review: it slept on an empty
// buffer until its ctx ended, and Close, which then waits again without
// one, forever.)
func TestWaitEmptyWokenByGiveBack(t *testing.T) {
	var b buffer
	b.init(1<<20, 1, true)
	require.True(t, b.tryAcquire(10))
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.waitEmpty(wctx) }()
	for b.waiters.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	b.used.Add(pack(10, 1)) // an attempt counts itself in, as tryAcquire does
	b.release(10, 1)        // the record is done: waitEmpty wakes, sees the attempt, sleeps again
	time.Sleep(10 * time.Millisecond)
	b.giveBack(10) // the attempt fails: the buffer is empty
	require.NoError(t, <-done)
}

// The record count has headroom: Validate's largest bound, full, plus a
// failing attempt does not carry into the byte count (it read as an empty
// buffer, and let the record in).
func TestRecordCountHasHeadroom(t *testing.T) {
	o := (&Options{MaxBufferedRecords: maxBufferedRecords, MaxBufferedBytes: 1 << 32}).EnsureDefaults()
	require.NoError(t, o.Validate())
	var b buffer
	b.init(o.MaxBufferedBytes, o.MaxBufferedRecords, true)
	b.used.Store(pack(24*maxBufferedRecords, maxBufferedRecords)) // full
	require.ErrorIs(t, b.acquire(context.Background(), 24), ErrBufferFull)
	require.Equal(t, int64(maxBufferedRecords), b.records())
}
