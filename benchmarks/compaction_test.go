package benchmarks

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/compaction"
)

// Benchmarks of retention and the log cleaner (issue 5). Each op builds
// its own data (a fresh topic) and then runs the measured pass; ns/op
// includes the build, and the pass itself is reported as a metric.
//
//	go test -run '^$' -bench 'Retention|Cleaner|ProduceWhileCleaning' -benchtime 1x -count 3 .

// cmpBatch is the records of one append in these benchmarks.
const cmpBatch = 1000

// cmpRecords returns n batches' worth of records over keys distinct keys
// (keySize-byte keys, valueSize-byte values), from a fixed seed.
func cmpRecords(seed uint64, batches, keys int) [][]cairn.Record {
	rng := rand.New(rand.NewPCG(seed, 9))
	keyset := make([][]byte, keys)
	for i := range keyset {
		keyset[i] = fmt.Appendf(nil, "%0*d", keySize, i)
	}
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = byte(rng.Uint32())
	}
	out := make([][]cairn.Record, batches)
	for i := range out {
		recs := make([]cairn.Record, cmpBatch)
		for j := range recs {
			recs[j] = cairn.Record{Key: keyset[rng.IntN(keys)], Value: value}
		}
		out[i] = recs
	}
	return out
}

func openCmp(b *testing.B, dir string, mod func(*cairn.Options)) *cairn.Broker {
	o := &cairn.Options{Durability: cairn.NoSync, CleanupInterval: -1}
	if mod != nil {
		mod(o)
	}
	br, err := cairn.Open(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// dataBytes is the size of Pebble's data files under dir: sstables and
// blob files (where the batches are). WAL files are left out: Pebble
// recycles a fixed number of them (about 4 x 64 MB with Cairn's memtable
// settings) whatever the data size.
func dataBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if ext := filepath.Ext(p); err == nil && !d.IsDir() && (ext == ".sst" || ext == ".blob") {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// reclaimed waits up to limit for the data files under dir to shrink to at
// most want bytes (Pebble deletes obsolete files in the background) and
// returns their size.
func reclaimed(dir string, want int64, limit time.Duration) int64 {
	start := time.Now()
	for {
		n := dataBytes(dir)
		if n <= want || time.Since(start) > limit {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fill(b *testing.B, br *cairn.Broker, name string, batches [][]cairn.Record, rounds int) {
	for range rounds {
		for _, recs := range batches {
			if _, err := br.Append(context.Background(), name, 0, recs...); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRetentionPass deletes 10k and 10M records with one retention
// pass (retention.ms): the pass is a time-index seek and one range
// deletion, so its cost should not depend on how much it deletes. It also
// reports Pebble's data files before the pass and after the broker's
// cleanup has compacted the deleted range and Pebble deleted the obsolete
// files (data-MB-after), and how long that took (s-to-reclaim).
func BenchmarkRetentionPass(b *testing.B) {
	for _, n := range []int{10_000, 10_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			batches := cmpRecords(1, 100, 1<<20)
			dir := b.TempDir()
			var now time.Time
			var mu sync.Mutex
			br := openCmp(b, dir, func(o *cairn.Options) {
				o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			})
			defer br.Close()
			setNow := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
			var pass time.Duration
			var before, after int64
			var wait time.Duration
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				name := fmt.Sprint("ret", i)
				t0 := time.UnixMilli(1_700_000_000_000)
				setNow(t0)
				if err := br.CreateTopic(context.Background(), name, 1, cairn.TopicConfig{"retention.ms": "60000"}); err != nil {
					b.Fatal(err)
				}
				fill(b, br, name, batches[:min(len(batches), n/cmpBatch)], max(1, n/(cmpBatch*len(batches))))
				setNow(t0.Add(time.Hour))
				if _, err := br.Append(context.Background(), name, 0, cairn.Record{Value: []byte("new")}); err != nil {
					b.Fatal(err)
				}
				before = dataBytes(dir)
				part, err := br.Partition(name, 0)
				if err != nil {
					b.Fatal(err)
				}
				// The pass alone, as the broker's cleanup runs it.
				start := time.Now()
				cut, err := compaction.Retain(context.Background(), part,
					compaction.Retention{Time: time.Minute, Bytes: -1}, t0.Add(time.Hour))
				pass += time.Since(start)
				if err != nil || cut != int64(n) {
					b.Fatalf("log start %d after the pass, want %d (%v)", cut, n, err)
				}
				// Then the broker's cleanup, which also compacts the
				// deleted range so Pebble frees its files.
				start = time.Now()
				if err := br.Cleanup(context.Background()); err != nil {
					b.Fatal(err)
				}
				after = reclaimed(dir, before/20+1<<20, time.Minute)
				wait = time.Since(start)
				if err := br.DeleteTopic(context.Background(), name); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pass.Microseconds())/float64(b.N), "µs/pass")
			b.ReportMetric(float64(before)/(1<<20), "data-MB-before")
			b.ReportMetric(float64(after)/(1<<20), "data-MB-after")
			b.ReportMetric(wait.Seconds(), "s-to-reclaim")
		})
	}
}

// BenchmarkCleaner cleans a key-heavy compacted partition (1M records of
// 16-byte keys over 10k or 100k distinct keys): records/s is what the
// pass reads and rewrites per second; space before and after is the
// partition's stored bytes.
func BenchmarkCleaner(b *testing.B) {
	for _, keys := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			batches := cmpRecords(2, 1000, keys)
			dir := b.TempDir()
			br := openCmp(b, dir, nil)
			defer br.Close()
			var pass time.Duration
			var read, beforeB, afterB, dirBefore, dirAfter int64
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				name := fmt.Sprint("tbl", i)
				if err := br.CreateTopic(context.Background(), name, 1, cairn.TopicConfig{
					"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0"}); err != nil {
					b.Fatal(err)
				}
				fill(b, br, name, batches, 1)
				st0, _ := br.PartitionStats(name, 0)
				dirBefore = dataBytes(dir)
				start := time.Now()
				if err := br.Cleanup(context.Background()); err != nil {
					b.Fatal(err)
				}
				pass += time.Since(start)
				st, _ := br.PartitionStats(name, 0)
				read += st0.HighWatermark - cmpBatch // the tail batch is not cleaned
				beforeB, afterB = st0.Bytes, st.Bytes
				dirAfter = reclaimed(dir, dirBefore/2, 10*time.Second)
				if err := br.DeleteTopic(context.Background(), name); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(read)/pass.Seconds(), "records/s")
			b.ReportMetric(float64(beforeB)/(1<<20), "log-MB-before")
			b.ReportMetric(float64(afterB)/(1<<20), "log-MB-after")
			b.ReportMetric(float64(dirBefore)/(1<<20), "data-MB-before")
			b.ReportMetric(float64(dirAfter)/(1<<20), "data-MB-after")
		})
	}
}

// BenchmarkProduceWhileCleaning appends to a compacted topic (50k keys,
// default min.cleanable.dirty.ratio 0.5) with and without the background
// cleanup checking it every 100 ms (the default is 15 s), in alternating
// rounds in one run, and reports both rates, their ratio (target >= 0.8)
// and the passes the cleaner made per round, with the cleaner uncapped
// and capped at 16 MB/s (Options.Cleaner.BytesPerSecond). NoSync makes
// appends CPU-bound, the case where the cleaner competes most.
func BenchmarkProduceWhileCleaning(b *testing.B) {
	batches := cmpRecords(3, 200, 50_000)
	for _, bps := range []int{0, 16 << 20} {
		name := "cap=none"
		if bps > 0 {
			name = fmt.Sprintf("cap=%dMBps", bps>>20)
		}
		b.Run(name, func(b *testing.B) { produceWhileCleaning(b, batches, bps) })
	}
}

func produceWhileCleaning(b *testing.B, batches [][]cairn.Record, bps int) {
	var alone, withCleaner time.Duration
	var cleaned, passes int64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, clean := range []bool{false, true} {
			d, st := produceRound(b, batches, clean, bps)
			if clean {
				withCleaner += d
				cleaned += st.RecordsCleaned
				passes += st.CleanerPasses
			} else {
				alone += d
			}
		}
	}
	recs := float64(b.N * len(batches) * cmpBatch)
	b.ReportMetric(recs/alone.Seconds(), "records/s-alone")
	b.ReportMetric(recs/withCleaner.Seconds(), "records/s-cleaning")
	b.ReportMetric(alone.Seconds()/withCleaner.Seconds(), "ratio")
	b.ReportMetric(float64(cleaned)/float64(b.N), "cleaned/round")
	b.ReportMetric(float64(passes)/float64(b.N), "passes/round")
}

// produceRound appends batches (five times over) to a fresh broker's
// compacted topic, with the background cleanup on if clean, and returns
// the time the appends took and the partition's stats.
func produceRound(b *testing.B, batches [][]cairn.Record, clean bool, bps int) (time.Duration, cairn.PartitionStats) {
	br := openCmp(b, b.TempDir(), func(o *cairn.Options) {
		if clean {
			o.CleanupInterval = 100 * time.Millisecond
			o.Cleaner.BytesPerSecond = bps
		}
	})
	defer br.Close()
	ctx := context.Background()
	if err := br.CreateTopic(ctx, "tbl", 1, cairn.TopicConfig{"cleanup.policy": "compact"}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	fill(b, br, "tbl", batches, 5)
	d := time.Since(start)
	st, _ := br.PartitionStats("tbl", 0)
	return d, st
}
