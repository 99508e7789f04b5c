package compaction_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestModelConcurrent appends, cleans (with DeleteRecords and stale key
// sweeps) and reads a compacted partition from three goroutines: no read
// returns a record below its log start, Get always matches the model, and
// at the end Get matches a replay of the log.
func TestModelConcurrent(t *testing.T) {
	seeds := uint64(20)
	if raceEnabled {
		seeds = 4
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		hconc(t, seed)
	}
}

func hconc(t *testing.T, seed uint64) {
	db := openTestDB(t, vfs.NewMem())
	defer db.Close()
	synced := seed%2 == 0
	p, err := partition.Open(partition.Options{DB: db, Topic: "t", TopicID: 1, Sync: synced, Config: partition.Config{MaxMessageBytes: 1 << 20, Compacted: true}})
	require.NoError(t, err)
	defer p.Close()
	const keys = 5
	var mu sync.Mutex
	model := map[int64][2]string{}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 10)
	wg.Add(3)
	go func() { // writer
		defer wg.Done()
		defer stop.Store(true)
		rng := rand.New(rand.NewPCG(seed, 1))
		for i := 0; i < 1500; i++ {
			n := 1 + rng.IntN(3)
			recs := make([]log.Record, n)
			for j := range recs {
				recs[j] = log.Record{Key: []byte(fmt.Sprint("k", rng.IntN(keys)))}
				if rng.IntN(4) > 0 {
					recs[j].Value = []byte(fmt.Sprint("v", i, "-", j))
				}
			}
			mu.Lock()
			base, err := p.Append(ctx, recs)
			if err != nil {
				mu.Unlock()
				errc <- err
				return
			}
			for j, r := range recs {
				model[base+int64(j)] = [2]string{string(r.Key), string(r.Value)}
			}
			mu.Unlock()
		}
	}()
	go func() { // cleaner, retention
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 2))
		cl := compaction.NewCleaner(compaction.Options{KeyMapSize: 3, StepBytes: 200, ReadBytes: 300})
		for !stop.Load() {
			switch rng.IntN(4) {
			case 0, 1:
				if _, err := cl.Clean(ctx, p, compaction.Policy{}, time.Now().Add(time.Hour)); err != nil {
					errc <- err
					return
				}
			case 2:
				ls, hwm := p.LogStart(), p.HighWatermark()
				if rng.IntN(5) == 0 && hwm > ls {
					if err := p.DeleteRecords(ctx, ls+rng.Int64N(min(hwm-ls, 3))); err != nil {
						errc <- err
						return
					}
				}
			case 3:
				if _, err := p.DropStaleKeys(ctx); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	go func() { // reader
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 3))
		for !stop.Load() {
			k := fmt.Sprint("k", rng.IntN(keys))
			r, err := p.Get(ctx, []byte(k))
			if err != nil && !errors.Is(err, partition.ErrKeyNotFound) {
				errc <- err
				return
			}
			if err == nil {
				mu.Lock()
				m, ok := model[r.Offset]
				mu.Unlock()
				if ok && (m[0] != k || m[1] != string(r.Value)) {
					errc <- fmt.Errorf("Get %s = %d %q, model %v", k, r.Offset, r.Value, m)
					return
				}
			}
			off := p.LogStart()
			f, err := p.Read(off, 1<<20)
			if err != nil {
				continue
			}
			rs, _, err := f.Records(off)
			if err != nil {
				errc <- err
				return
			}
			for _, r := range rs {
				if r.Offset < f.LogStart {
					errc <- fmt.Errorf("read %d below log start %d", r.Offset, f.LogStart)
					return
				}
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("seed %d: %v", seed, err)
	}
	// final: Get agrees with replay
	replay := map[string]log.Record{}
	for off := p.LogStart(); off < p.HighWatermark(); {
		rs, err := p.ReadRecords(off, 1<<30)
		require.NoError(t, err)
		if len(rs) == 0 {
			break
		}
		for _, r := range rs {
			replay[string(r.Key)] = r
		}
		off = rs[len(rs)-1].Offset + 1
	}
	for i := range keys {
		k := fmt.Sprint("k", i)
		r, err := p.Get(ctx, []byte(k))
		w, ok := replay[k]
		if ok && w.Value != nil {
			require.NoError(t, err, "seed %d key %s", seed, k)
			require.Equal(t, w.Offset, r.Offset)
		} else {
			require.ErrorIs(t, err, partition.ErrKeyNotFound, "seed %d key %s", seed, k)
		}
	}
}
