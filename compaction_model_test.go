package cairn_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

const compactSeedEnv = "CAIRN_COMPACT_SEED"

// testSeed returns the seed from env or the clock, and logs it on failure.
func testSeed(t *testing.T, env string) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(env); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "bad %s", env)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("failed with seed %d (rerun with %s=%d)", seed, env, seed)
		}
	})
	return seed
}

// TestCompactionMatchesModel writes random keys, updates and tombstones to
// a compacted topic while the cleaner runs in a loop, with a small key map
// (many passes) and small steps, and checks at random points that folding
// the whole partition gives the reference model's map and that Get agrees
// with it for every key. Tombstones cannot expire while the cleaner races
// the reads (a consumer has delete.retention.ms to see one); at the end the
// clock jumps past it and the check repeats with them gone, and again
// after a reopen.
func TestCompactionMatchesModel(t *testing.T) {
	seed := testSeed(t, compactSeedEnv)
	rng := rand.New(rand.NewPCG(seed, 5))
	c := newClock()
	fs := vfs.NewMem()
	mod := func(o *cairn.Options) {
		o.Cleaner.KeyMapSize = 4 + rng.IntN(40)
		o.Cleaner.StepBytes = 256 + rng.IntN(4096)
		o.Cleaner.ReadBytes = 256 + rng.IntN(4096)
	}
	b := openClean(t, fs, c, mod)
	codec := []string{"uncompressed", "zstd", "snappy", "lz4", "gzip"}[rng.IntN(5)]
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted("delete.retention.ms", "3600000",
		"compression.type", codec)))
	t.Logf("seed %d, codec %s", seed, codec)

	keys := 10 + rng.IntN(100)
	model := map[string]string{}
	check := func() {
		require.Equal(t, model, table(readAll(t, b, "tbl", 0)))
		for k := range keys {
			key := fmt.Sprint("key-", k)
			r, err := b.Get(ctx, "tbl", []byte(key))
			if v, ok := model[key]; ok {
				require.NoError(t, err, key)
				require.Equal(t, v, string(r.Value), key)
			} else {
				require.ErrorIs(t, err, cairn.ErrKeyNotFound, key)
			}
		}
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := b.Cleanup(ctx); err != nil {
				t.Errorf("cleanup: %v", err)
				return
			}
			time.Sleep(time.Millisecond) // leave the appender some CPU
		}
	}()
	n := 200 + rng.IntN(200)
	for i := range n {
		batch := make([]cairn.Record, 1+rng.IntN(6))
		for j := range batch {
			key := fmt.Sprint("key-", rng.IntN(keys))
			batch[j] = kv(key, "")
			if rng.IntN(5) > 0 {
				batch[j].Value = fmt.Appendf(nil, "v%d.%d", i, j)
			}
		}
		_, err := b.Append(ctx, "tbl", 0, batch...)
		require.NoError(t, err)
		for _, r := range batch {
			if r.Value == nil {
				delete(model, string(r.Key))
			} else {
				model[string(r.Key)] = string(r.Value)
			}
		}
		c.Add(time.Duration(rng.IntN(100)) * time.Millisecond)
		if rng.IntN(40) == 0 {
			check()
		}
	}
	close(done)
	wg.Wait()
	check()

	// Tombstones expire delete.retention.ms after they were first
	// cleaned (as Kafka's delete horizon); each new tail batch makes the
	// one before it cleanable.
	for _, k := range []string{"tail1", "tail2"} {
		c.Add(2 * time.Hour)
		_, err := b.Append(ctx, "tbl", 0, kv(k, "x"))
		require.NoError(t, err)
		model[k] = "x"
		require.NoError(t, b.Cleanup(ctx))
	}
	for _, r := range readAll(t, b, "tbl", 0) {
		require.NotNil(t, r.Value, "tombstone at %d outlived delete.retention.ms", r.Offset)
	}
	check()
	st, err := b.PartitionStats("tbl", 0)
	require.NoError(t, err)
	t.Logf("%d records appended in %d batches, %d cleaned in %d passes, %d keys left",
		st.HighWatermark, n+1, st.RecordsCleaned, st.CleanerPasses, len(model))
	require.NoError(t, b.Close())

	b = openClean(t, fs, c, mod)
	defer b.Close()
	check()
	st2, err := b.PartitionStats("tbl", 0)
	require.NoError(t, err)
	require.Equal(t, st.Bytes, st2.Bytes)
}
