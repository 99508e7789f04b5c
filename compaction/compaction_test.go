package compaction_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func newPartition(t *testing.T) *partition.Partition {
	t.Helper()
	db, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	p, err := partition.Open(partition.Options{DB: db, Topic: "t", TopicID: 1,
		Config: partition.Config{MaxMessageBytes: 1 << 20, Compacted: true},
		Now:    func() time.Time { return time.UnixMilli(1_700_000_000_000) }})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close(); db.Close() })
	return p
}

// fill appends n batches of random updates and tombstones over keys keys.
func fill(t *testing.T, p *partition.Partition, rng *rand.Rand, n, keys int) {
	t.Helper()
	for i := range n {
		recs := make([]log.Record, 1+rng.IntN(5))
		for j := range recs {
			recs[j].Key = fmt.Appendf(nil, "k%d", rng.IntN(keys))
			if rng.IntN(4) > 0 {
				recs[j].Value = fmt.Appendf(nil, "v%d.%d", i, j)
			}
		}
		_, err := p.Append(ctx, recs)
		require.NoError(t, err)
	}
}

func dump(t *testing.T, p *partition.Partition) []log.Record {
	t.Helper()
	var out []log.Record
	for off := p.LogStart(); off < p.HighWatermark(); {
		recs, err := p.ReadRecords(off, 1<<20)
		require.NoError(t, err)
		if len(recs) == 0 {
			break
		}
		out = append(out, recs...)
		off = recs[len(recs)-1].Offset + 1
	}
	return out
}

// crashing fails ApplyClean after a number of steps, as a kill would.
type crashing struct {
	*partition.Partition
	steps int
}

var errCrash = errors.New("crash")

func (c *crashing) ApplyClean(ctx context.Context, rw *log.Rewrite) error {
	if c.steps == 0 {
		return errCrash
	}
	c.steps--
	return c.Partition.ApplyClean(ctx, rw)
}

// TestInterruptedPassesConverge cuts cleaning passes short after every
// possible number of steps and checks that resuming gives the same log as
// an uninterrupted run.
func TestInterruptedPassesConverge(t *testing.T) {
	now := time.Now()
	pol := compaction.Policy{DeleteRetention: time.Hour}
	opts := compaction.Options{KeyMapSize: 10, StepBytes: 300, ReadBytes: 500}
	build := func() *partition.Partition {
		p := newPartition(t)
		fill(t, p, rand.New(rand.NewPCG(1, 2)), 80, 25)
		return p
	}
	ref := build()
	res, err := compaction.NewCleaner(opts).Clean(ctx, ref, pol, now)
	require.NoError(t, err)
	require.Greater(t, res.Passes, 1)
	want := dump(t, ref)
	for steps := 0; ; steps++ {
		p := build()
		_, err := compaction.NewCleaner(opts).Clean(ctx, &crashing{p, steps}, pol, now)
		if err == nil {
			break // no step left to cut
		}
		require.ErrorIs(t, err, errCrash)
		_, err = compaction.NewCleaner(opts).Clean(ctx, p, pol, now)
		require.NoError(t, err)
		require.Equal(t, want, dump(t, p), "cut after %d steps", steps)
		require.Equal(t, ref.Size(), p.Size())
	}
}

// fakeRetainer records what retention asks of a partition.
type fakeRetainer struct {
	start, byTime, bySize int64
	deleted               int64
}

func (f *fakeRetainer) LogStart() int64                     { return f.start }
func (f *fakeRetainer) BaseAtTime(time.Time) (int64, error) { return f.byTime, nil }
func (f *fakeRetainer) RetentionCut(int64) (int64, error)   { return f.bySize, nil }
func (f *fakeRetainer) DeleteRecords(_ context.Context, before int64) error {
	f.deleted = before
	return nil
}

func TestRetainTakesTheLaterCut(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		r                     compaction.Retention
		start, byTime, bySize int64
		want                  int64
	}{
		{"time", compaction.Retention{Time: time.Hour, Bytes: -1}, 5, 10, 99, 10},
		{"bytes", compaction.Retention{Time: -1, Bytes: 100}, 5, 99, 20, 20},
		{"both, bytes later", compaction.Retention{Time: time.Hour, Bytes: 100}, 5, 10, 20, 20},
		{"both, time later", compaction.Retention{Time: time.Hour, Bytes: 100}, 5, 30, 20, 30},
		{"nothing due", compaction.Retention{Time: time.Hour, Bytes: 100}, 5, 5, 0, 5},
		{"neither set", compaction.Retention{Time: -1, Bytes: -1}, 5, 99, 99, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRetainer{start: tc.start, byTime: tc.byTime, bySize: tc.bySize}
			got, err := compaction.Retain(ctx, f, tc.r, time.Now())
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			if tc.want > tc.start {
				require.Equal(t, tc.want, f.deleted)
			} else {
				require.Zero(t, f.deleted, "no deletion when nothing is due")
			}
		})
	}
}

func TestBytesPerSecondPacesPasses(t *testing.T) {
	p := newPartition(t)
	fill(t, p, rand.New(rand.NewPCG(3, 4)), 60, 20)
	size := p.Size()
	rate := int(size) * 4 // the pass reads the log twice (map, rewrite): about half a second
	start := time.Now()
	_, err := compaction.NewCleaner(compaction.Options{BytesPerSecond: rate}).Clean(ctx, p, compaction.Policy{}, time.Now())
	require.NoError(t, err)
	require.Greater(t, time.Since(start), 300*time.Millisecond)
}

func TestOptionsValidate(t *testing.T) {
	o := compaction.Options{KeyMapSize: -1}
	require.ErrorIs(t, o.Validate(), compaction.ErrInvalidOptions)
	o = compaction.Options{}
	o.EnsureDefaults()
	require.NoError(t, o.Validate())
	require.Equal(t, 1<<20, o.KeyMapSize)
}
