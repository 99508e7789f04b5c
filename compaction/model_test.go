package compaction_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

type hrec struct {
	key, val string
	tomb     bool
	ts       int64
	bmax     int64 // its batch's max timestamp
	cleaned  int64 // when a pass first cleaned it (unix ms), -1 if never
	batch    int   // which append made its batch
	stamped  bool  // its batch carries the log append time
}

// TestModel: random appends, cleaning, retention, DeleteRecords, stale key
// sweeps and reopens on a compacted partition; after each step the log
// read from its start is checked against a model, Get against a replay of
// that read, Size against the stored batches, OffsetForTime against the
// read.
func TestModel(t *testing.T) {
	seeds := []uint64{}
	if s := os.Getenv("MODEL_SEED"); s != "" {
		v, _ := strconv.ParseUint(s, 10, 64)
		seeds = append(seeds, v)
	} else {
		// 100 seeds take about 3 s (10 under the race detector);
		// MODEL_SEED=n runs one, for a failure's trace. A helper ran
		// 4,000 while writing it and found nothing.
		n := uint64(100)
		if raceEnabled {
			n = 10
		}
		for i := uint64(1); i <= n; i++ {
			seeds = append(seeds, i)
		}
	}
	for _, seed := range seeds {
		if !hmodelRun(t, seed) {
			t.Fatalf("seed %d failed", seed)
		}
	}
}

func hmodelRun(t *testing.T, seed uint64) (ok bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	fs := vfs.NewCrashableMem()
	synced := rng.IntN(2) == 0
	appendTime := rng.IntN(4) == 0
	var db *pebble.DB
	now := time.UnixMilli(1_000_000_000)
	clock := func() time.Time { return now }
	var p *partition.Partition
	openP := func() {
		var err error
		p, err = partition.Open(partition.Options{DB: db, Topic: "t", TopicID: 1, Now: clock, Sync: synced,
			Config: partition.Config{MaxMessageBytes: 1 << 20, Compacted: true, LogAppendTime: appendTime}})
		if err != nil {
			panic(err)
		}
	}
	dbOpen := func() {
		var err error
		po := &pebble.Options{FS: fs, Logger: quietLogger{}, FormatMajorVersion: pebble.FormatNewest, L0CompactionThreshold: 2}
		po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
			return pebble.ValueSeparationPolicy{Enabled: true, MinimumSize: 64, MaxBlobReferenceDepth: 50, RewriteMinimumAge: time.Millisecond, TargetGarbageRatio: 0.2}
		}
		db, err = pebble.Open("db", po)
		if err != nil {
			panic(err)
		}
	}
	dbOpen()
	openP()
	defer func() { p.Close(); db.Close() }()
	var model []hrec // by offset
	keys := 3 + rng.IntN(6)
	cl := compaction.NewCleaner(compaction.Options{KeyMapSize: 1 + rng.IntN(6), StepBytes: 1 + rng.IntN(600), ReadBytes: 1 + rng.IntN(600)})
	var trace []string
	fail := func(format string, a ...any) bool {
		t.Logf("seed %d: trace:\n%v", seed, trace)
		t.Errorf("seed %d: "+format, append([]any{seed}, a...)...)
		return false
	}
	check := func() bool {
		ls, hwm := p.LogStart(), p.HighWatermark()
		if hwm != int64(len(model)) {
			return fail("hwm %d, model %d", hwm, len(model))
		}
		// read everything from log start
		var got []log.Record
		for off := ls; off < hwm; {
			f, err := p.Read(off, 1)
			if err != nil {
				return fail("read %d: %v", off, err)
			}
			if len(f.Batches) == 0 {
				break
			}
			rs, next, err := f.Records(off)
			if err != nil {
				return fail("records: %v", err)
			}
			got = append(got, rs...)
			off = next
		}
		prev := int64(-1)
		present := map[int64]bool{}
		for _, r := range got {
			if r.Offset < ls || r.Offset >= hwm || r.Offset <= prev {
				return fail("read offset %d (log start %d, hwm %d, prev %d)", r.Offset, ls, hwm, prev)
			}
			prev = r.Offset
			m := model[r.Offset]
			if string(r.Key) != m.key || (r.Value == nil) != m.tomb || (!m.tomb && string(r.Value) != m.val) {
				return fail("record at %d is %q=%q, model %+v", r.Offset, r.Key, r.Value, m)
			}
			if r.Timestamp.UnixMilli() != m.ts {
				return fail("record at %d ts %d, model %d", r.Offset, r.Timestamp.UnixMilli(), m.ts)
			}
			present[r.Offset] = true
		}
		// the latest live value of each key from the log start is present
		latest := map[string]int64{}
		for off := ls; off < hwm; off++ {
			latest[model[off].key] = off
		}
		for k, off := range latest {
			if !model[off].tomb && !present[off] {
				return fail("latest value of %s at %d missing (log start %d)", k, off, ls)
			}
		}
		// tail batch untouched
		for off := p.TailStart(); off < hwm; off++ {
			if off >= ls && !present[off] {
				return fail("tail record %d missing", off)
			}
		}
		// Get agrees with a replay of the read
		replay := map[string]log.Record{}
		for _, r := range got {
			replay[string(r.Key)] = r
		}
		for i := range keys {
			k := fmt.Sprint("k", i)
			r, err := p.Get(ctx, []byte(k))
			want, ok := replay[k]
			if ok && want.Value != nil {
				if err != nil || r.Offset != want.Offset || string(r.Value) != string(want.Value) {
					return fail("Get %s = %d %q %v, replay %d %q", k, r.Offset, r.Value, err, want.Offset, want.Value)
				}
			} else if !errors.Is(err, partition.ErrKeyNotFound) {
				return fail("Get %s = %d %q %v, replay none (%v)", k, r.Offset, r.Value, err, ok)
			}
		}
		// Size matches stored batches
		bs, err := p.Batches(0, math.MaxInt64, math.MaxInt)
		if err != nil {
			return fail("batches: %v", err)
		}
		var sz int64
		for _, b := range bs {
			sz += int64(b.Len())
		}
		if sz != p.Size() {
			return fail("Size %d, stored %d", p.Size(), sz)
		}
		// OffsetForTime agrees with the read
		for range 4 {
			ts := now.UnixMilli() - 20000 + rng.Int64N(30000)
			off, ok, err := p.OffsetForTime(time.UnixMilli(ts))
			if err != nil {
				return fail("OffsetForTime: %v", err)
			}
			want, wok := hwm, false
			for _, r := range got {
				if r.Timestamp.UnixMilli() >= ts {
					want, wok = r.Offset, true
					break
				}
			}
			if off != want || ok != wok {
				return fail("OffsetForTime(%d) = %d %v, read says %d %v", ts, off, ok, want, wok)
			}
		}
		return true
	}
	var bl log.Builder
	dr := time.Duration(rng.IntN(4)) * time.Second
	presentNow := func() map[int64]bool {
		m := map[int64]bool{}
		for off := p.LogStart(); off < p.HighWatermark(); {
			f, err := p.Read(off, 1)
			require.NoError(t, err)
			if len(f.Batches) == 0 {
				break
			}
			rs, next, err := f.Records(off)
			require.NoError(t, err)
			for _, r := range rs {
				m[r.Offset] = true
			}
			off = next
		}
		return m
	}
	for step := 0; step < 120; step++ {
		switch op := rng.IntN(20); {
		case op < 9: // append
			n := 1 + rng.IntN(3)
			recs := make([]log.Record, n)
			base := now.UnixMilli() + rng.Int64N(4000) - 3000
			for i := range recs {
				k := fmt.Sprint("k", rng.IntN(keys))
				ts := base + rng.Int64N(200)
				h := hrec{key: k, ts: ts, cleaned: -1, batch: step, stamped: appendTime}
				if appendTime {
					h.ts = now.UnixMilli()
				}
				recs[i] = log.Record{Key: []byte(k), Timestamp: time.UnixMilli(ts)}
				if rng.IntN(4) == 0 {
					h.tomb = true
				} else {
					h.val = fmt.Sprint("v", len(model)+i) + strings.Repeat("x", rng.IntN(3)*rng.IntN(400))
					recs[i].Value = []byte(h.val)
				}
				model = append(model, h)
			}
			var mx int64 = math.MinInt64
			for i := len(model) - n; i < len(model); i++ {
				mx = max(mx, model[i].ts)
			}
			if appendTime {
				mx = now.UnixMilli()
			}
			for i := len(model) - n; i < len(model); i++ {
				model[i].bmax = mx
			}
			b, err := bl.Build(recs, log.None, nil, now)
			require.NoError(t, err)
			_, err = p.AppendLogBatch(ctx, b)
			require.NoError(t, err)
			trace = append(trace, fmt.Sprintf("append %d", n))
		case op < 11: // time passes
			d := time.Duration(rng.IntN(5000)) * time.Millisecond
			now = now.Add(d)
			trace = append(trace, fmt.Sprintf("tick %v", d))
		case op < 14: // clean
			pol := compaction.Policy{
				MinDirtyRatio:    []float64{0, 0.5}[rng.IntN(2)],
				MinCompactionLag: time.Duration(rng.IntN(3)) * time.Second,
				DeleteRetention:  dr,
			}
			before := presentNow()
			lsBefore := p.LogStart()
			bat, _ := p.BaseAtTime(now.Add(-pol.MinCompactionLag + time.Millisecond))
			trace = append(trace, fmt.Sprintf("[bat %d cleanedTo %d tail %d ls %d]", bat, p.CleanedTo(), p.TailStart(), lsBefore))
			_, err := cl.Clean(ctx, p, pol, now)
			require.NoError(t, err)
			after := presentNow()
			young := int64(len(model))
			for off := range model {
				if int64(off) >= lsBefore && before[int64(off)] && model[off].bmax > now.Add(-pol.MinCompactionLag).UnixMilli() {
					young = int64(off)
					break
				}
			}
			for off := range before {
				if after[off] {
					continue
				}
				m := model[off]
				if pol.MinCompactionLag > 0 && off >= young {
					for o := lsBefore; o < int64(len(model)); o++ {
						t.Logf("%d %+v", o, model[o])
					}
					return fail("clean removed %d in a batch younger than the lag (young from %d) now %d", off, young, now.UnixMilli())
				}
				superseded := false
				for o := off + 1; o < int64(len(model)); o++ {
					if model[o].key == m.key {
						superseded = true
					}
				}
				if !superseded {
					if !m.tomb {
						return fail("clean removed latest value at %d", off)
					}
					if (m.cleaned < 0 && dr > 0) || (m.cleaned >= 0 && now.UnixMilli()-m.cleaned < dr.Milliseconds()) || m.bmax >= now.Add(-dr).UnixMilli() {
						return fail("clean removed tombstone %d first cleaned at %d, now %d, dr %v, bmax %d", off, m.cleaned, now.UnixMilli(), dr, m.bmax)
					}
				}
			}
			for o := p.Stats().CleanedTo - 1; o >= 0 && o < int64(len(model)) && model[o].cleaned < 0; o-- {
				model[o].cleaned = now.UnixMilli()
			}
			// A batch the pass thinned (some records removed, some kept)
			// now has its kept records' max timestamp, as Kafka rebuilds a
			// cleaned batch (log.Batch.Filter); one with the log append
			// time keeps it.
			kept := map[int]int64{}
			thinned := map[int]bool{}
			for off := range before {
				b := model[off].batch
				if !after[off] {
					thinned[b] = true
					continue
				}
				if v, ok := kept[b]; !ok || model[off].ts > v {
					kept[b] = model[off].ts
				}
			}
			for off := range after {
				if m := &model[off]; thinned[m.batch] && !m.stamped {
					m.bmax = kept[m.batch]
				}
			}
			trace = append(trace, fmt.Sprintf("clean %+v", pol))
		case op < 15: // retention
			r := compaction.Retention{Time: -1, Bytes: -1}
			if rng.IntN(2) == 0 {
				r.Time = time.Duration(5+rng.IntN(20)) * time.Second
			} else {
				r.Bytes = int64(rng.IntN(4000))
			}
			lsb := p.LogStart()
			bsb, err := p.Batches(lsb, math.MaxInt64, math.MaxInt)
			require.NoError(t, err)
			_, err = compaction.Retain(ctx, p, r, now)
			require.NoError(t, err)
			if r.Time >= 0 {
				thr := now.Add(-r.Time).UnixMilli()
				for _, b := range bsb {
					if b.LastOffset() < p.LogStart() && b.MaxTimestamp().UnixMilli() >= thr {
						return fail("retention.ms deleted batch %d with max ts %d >= %d", b.LastOffset(), b.MaxTimestamp().UnixMilli(), thr)
					}
					if b.LastOffset() >= p.LogStart() {
						if b.MaxTimestamp().UnixMilli() < thr && b.LastOffset() < p.TailStart() {
							return fail("retention.ms kept first batch %d with max ts %d < %d", b.LastOffset(), b.MaxTimestamp().UnixMilli(), thr)
						}
						break
					}
				}
			}
			if r.Bytes >= 0 {
				bs, err := p.Batches(p.LogStart(), math.MaxInt64, math.MaxInt)
				require.NoError(t, err)
				if len(bs) > 0 && p.Size()-int64(bs[0].Len()) >= r.Bytes {
					return fail("retention.bytes %d kept batch %d of %d bytes, size %d", r.Bytes, bs[0].LastOffset(), bs[0].Len(), p.Size())
				}
			}
			trace = append(trace, fmt.Sprintf("retain %+v -> %d", r, p.LogStart()))
		case op < 16: // delete records
			ls, hwm := p.LogStart(), p.HighWatermark()
			before := ls + rng.Int64N(hwm-ls+1)
			require.NoError(t, p.DeleteRecords(ctx, before))
			trace = append(trace, fmt.Sprintf("delete %d", before))
		case op < 17:
			_, err := p.DropStaleKeys(ctx)
			require.NoError(t, err)
			trace = append(trace, "dropstale")
		case op < 19:
			p.Close()
			if synced && rng.IntN(2) == 0 {
				pct := []int{0, 50, 100}[rng.IntN(3)]
				fs2 := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(rng.Uint64(), 1))})
				require.NoError(t, db.Close())
				fs = fs2
				dbOpen()
				// unsynced cleaning may be lost: forget when things were cleaned
			} else if rng.IntN(2) == 0 {
				require.NoError(t, db.Close())
				dbOpen()
			}
			openP()
			trace = append(trace, "reopen")
		default:
			require.NoError(t, db.Flush())
			require.NoError(t, db.Compact(ctx, []byte{0}, []byte{0xff}, true))
			trace = append(trace, "compact")
		}
		if !check() {
			return false
		}
	}
	return true
}

// openTestDB opens a Pebble DB on fs without its informational logging.
func openTestDB(t *testing.T, fs vfs.FS) *pebble.DB {
	t.Helper()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: quietLogger{}})
	require.NoError(t, err)
	return db
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)      {}
func (quietLogger) Errorf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (quietLogger) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
