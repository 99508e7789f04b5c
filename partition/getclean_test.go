package partition

import (
	"runtime"
	"testing"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestGetRacesCleaner: key k always has a live value (v1, then v2), but
// a Get that looked up v1's offset and then reads after the cleaner has
// removed v1 (superseded by v2) answers ErrKeyNotFound. GOMAXPROCS(1)
// makes the interleaving deterministic: the woken Get runs only once the
// test goroutine blocks, after the cleaning step.
func TestGetRacesCleaner(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	db := openDB(t, vfs.NewMem())
	defer db.Close()
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Sync: true,
		Config: Config{MaxMessageBytes: 1 << 20, Compacted: true}})
	require.NoError(t, err)
	defer p.Close()
	appendAsync := func(k, v string) func() error {
		var bl log.Builder
		b, err := bl.Build([]log.Record{{Key: []byte(k), Value: []byte(v)}}, log.None, nil, time.Now())
		require.NoError(t, err)
		_, wait, err := p.AppendLogBatchAsync(ctx, b)
		require.NoError(t, err)
		return wait
	}

	w1 := appendAsync("k", "v1") // in the key index, not yet acknowledged
	type result struct {
		r   log.Record
		err error
	}
	got := make(chan result, 1)
	go func() {
		r, err := p.Get(ctx, []byte("k")) // finds v1's offset, waits for it
		got <- result{r, err}
	}()
	time.Sleep(50 * time.Millisecond) // Get is parked in Wait
	w2 := appendAsync("k", "v2")
	w3 := appendAsync("other", "x")   // so v2 is not in the uncleanable tail
	time.Sleep(50 * time.Millisecond) // the fsyncs are done: the waits do not block
	require.NoError(t, w1())          // wakes Get...
	require.NoError(t, w2())
	require.NoError(t, w3())
	// ...but before it runs, the cleaner removes v1, superseded by v2.
	res, err := compaction.NewCleaner(compaction.Options{}).Clean(ctx, p, compaction.Policy{}, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Removed)

	r := <-got
	require.NoError(t, r.err, "k had a live value throughout")
	require.Equal(t, "v2", string(r.r.Value))
}
