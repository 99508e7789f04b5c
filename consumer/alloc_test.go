package consumer_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/partition"
	"github.com/stretchr/testify/require"
)

// A Poll allocates per partition it returns records from (the fetch
// copies the stored batch and decodes it into one slice), not per record
// and not for the partitions it only looks at. This keeps the snapshot,
// channel and generation bookkeeping of a Poll from allocating again
// unnoticed: a waiting consumer polls thousands of times a second.
func TestPollAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates; .ci/run runs this test again without -race")
	}
	// With one P, a slab Recycle puts back is one the next Poll can get:
	// sync.Pool keeps one item per P where Gets on other Ps cannot take
	// it, so with two the recycled Poll below now and then allocated one
	// partition's slab afresh (232 KB against 2.2 MB unrecycled), failing
	// its check.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const parts = 8
	b := newBroker(t, map[string]int{"a": parts})
	all := make([]int32, parts)
	for i := range all {
		all[i] = int32(i)
	}
	c := newConsumer(t, b, &consumer.Options{MaxPollRecords: 100_000,
		Partitions: map[string][]int32{"a": all}})

	// mallocs returns the heap allocations of one Poll that returns n
	// records from each of the first busy partitions, and the bytes they
	// took; with recycle, the Poll's records are recycled afterwards.
	mallocs := func(busy, n int, recycle bool) (uint64, uint64) {
		recs := make([]cairn.Record, n)
		for i := range recs {
			recs[i] = cairn.Record{Key: []byte("k"), Value: make([]byte, 100)}
		}
		for p := range busy {
			_, err := b.Append(ctx, "a", int32(p), recs...)
			require.NoError(t, err)
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f, err := c.Poll(pctx)
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		require.Len(t, f.Records, busy*n)
		if recycle {
			f.Recycle()
		}
		return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc
	}
	mallocs(parts, 1, false) // warm up the scratch slices
	// Pebble's background work may allocate during a Poll: take the least
	// of a few tries.
	least := func(busy, n int, recycle bool) (uint64, uint64) {
		m, by := mallocs(busy, n, recycle)
		for range 4 {
			m2, by2 := mallocs(busy, n, recycle)
			m, by = min(m, m2), min(by, by2)
		}
		return m, by
	}
	few, _ := least(parts, 10, false)
	many, manyBytes := least(parts, 1000, false)
	one, _ := least(1, 10, false)
	recycled, recycledBytes := least(parts, 1000, true)
	t.Logf("allocations per Poll: 8 partitions × 10 records %d, × 1000 records %d (%d bytes; recycled: %d, %d bytes); 1 partition of 8 × 10 records %d",
		few, many, manyBytes, recycled, recycledBytes, one)
	require.LessOrEqual(t, few, uint64(10*parts), "a Poll of 8 partitions")    // a slab and the copies of a batch, its records and their pointers per partition
	require.LessOrEqual(t, many, few+2*parts, "allocations grow with records") // 100 times the records; the margin is Pebble reading larger values
	require.LessOrEqual(t, one, uint64(12), "a Poll with records in 1 of 8 partitions")
	// Recycled, a Poll reuses the memory of the records and batches of
	// earlier Polls: what it allocates is bookkeeping, not records.
	require.LessOrEqual(t, recycledBytes, manyBytes/50, "bytes of a recycled Poll of 8,000 records")
}

// flipCtx is done from the start, but its Err says so only on every other
// call: Poll's first check passes, so Poll fetches, finds nothing and
// waits, and the wait ends at once with Err's second answer. (Through
// bgBroker, the fetch does not ask it.)
type flipCtx struct {
	context.Context
	done  chan struct{}
	calls int
}

func (f *flipCtx) Done() <-chan struct{} { return f.done }

func (f *flipCtx) Err() error {
	if f.calls++; f.calls%2 == 1 {
		return nil
	}
	return context.Canceled
}

// A Poll that finds nothing on its one partition and waits allocates
// nothing: a tailing consumer waits once per append.
func TestWaitingPollAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates; .ci/run runs this test again without -race")
	}
	b := newBroker(t, map[string]int{"a": 1})
	c := newConsumer(t, bgBroker{b}, &consumer.Options{Partitions: map[string][]int32{"a": {0}}})
	fc := &flipCtx{Context: context.Background(), done: make(chan struct{})}
	close(fc.done)
	poll := func() {
		_, err := c.Poll(fc)
		require.ErrorIs(t, err, context.Canceled)
	}
	poll() // resolves the start position
	require.Zero(t, testing.AllocsPerRun(100, poll))
}

// bgBroker fetches with a background context, so that only the consumer
// itself asks Poll's context whether it is done.
type bgBroker struct{ *cairn.Broker }

func (b bgBroker) Fetch(_ context.Context, topic string, p int32, offset int64, maxBytes int) (partition.Fetch, error) {
	return b.Broker.Fetch(context.Background(), topic, p, offset, maxBytes)
}

func (b bgBroker) FetchInto(_ context.Context, buf []byte, topic string, p int32, offset int64, maxBytes int) (partition.Fetch, []byte, error) {
	return b.Broker.FetchInto(context.Background(), buf, topic, p, offset, maxBytes)
}
