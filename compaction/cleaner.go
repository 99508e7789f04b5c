package compaction

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cairnlog/cairn/log"
)

// ErrInvalidOptions reports Options or a Policy that cannot work.
var ErrInvalidOptions = errors.New("cairn: invalid compaction options")

// Options tune a Cleaner. The zero value is valid.
type Options struct {
	// KeyMapSize bounds the keys one pass maps (default 1<<20, about 40
	// MB). A partition with more distinct keys in its dirty part is
	// cleaned in several passes.
	KeyMapSize int
	// StepBytes is about how many bytes of rewritten batches one atomic
	// step applies (default 1 MiB). Appends to the partition wait while a
	// step is applied, so it stays small.
	StepBytes int
	// ReadBytes is how many bytes of batches one read returns (default
	// 1 MiB).
	ReadBytes int
	// BytesPerSecond caps how fast a pass reads batches, as Kafka's
	// log.cleaner.io.max.bytes.per.second, so the cleaner leaves CPU and
	// disk to appends; 0 (the default) means no cap.
	BytesPerSecond int
}

// EnsureDefaults fills unset fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.KeyMapSize == 0 {
		o.KeyMapSize = 1 << 20
	}
	if o.StepBytes == 0 {
		o.StepBytes = 1 << 20
	}
	if o.ReadBytes == 0 {
		o.ReadBytes = 1 << 20
	}
}

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	if o == nil {
		return nil // nil Options are the defaults, which are valid
	}
	if o.KeyMapSize < 0 || o.StepBytes < 0 || o.ReadBytes < 0 || o.BytesPerSecond < 0 {
		return fmt.Errorf("%w: negative size in %+v", ErrInvalidOptions, *o)
	}
	return nil
}

// Policy is a compacted topic's cleaning configuration.
type Policy struct {
	// MinDirtyRatio is min.cleanable.dirty.ratio: a pass starts once the
	// dirty part is at least this fraction of the cleanable bytes.
	MinDirtyRatio float64
	// MinCompactionLag is min.compaction.lag.ms: younger batches are
	// never cleaned.
	MinCompactionLag time.Duration
	// MaxCompactionLag is max.compaction.lag.ms: a dirty batch older than
	// this forces a pass whatever the ratio; zero or negative means never.
	MaxCompactionLag time.Duration
	// DeleteRetention is delete.retention.ms: how long a tombstone stays
	// after the pass that first cleaned it (between once and about twice
	// this, by the checkpoints the partition keeps), and at least this
	// long after its batch's max timestamp.
	DeleteRetention time.Duration
}

// Result tells what a call to Clean did.
type Result struct {
	// Passes counts the passes completed (0 when cleaning was not due).
	Passes int
	// Read and Removed count records read by the rewrite and removed.
	Read, Removed int64
	// BytesBefore and BytesAfter are the sizes of the rewritten range.
	BytesBefore, BytesAfter int64
}

// Cleaner runs cleaning passes with a bounded key map that it reuses. It
// is not safe for concurrent use.
type Cleaner struct {
	opts Options
	keys *keyMap
	recs []log.Record
	// read and since pace reads under BytesPerSecond.
	read  int64
	since time.Time
}

// pace sleeps, if needed, so that reads since the pass began stay under
// BytesPerSecond, after reading bs.
func (c *Cleaner) pace(ctx context.Context, bs []log.Batch) error {
	if c.opts.BytesPerSecond <= 0 {
		return nil
	}
	for _, b := range bs {
		c.read += int64(b.Len())
	}
	due := time.Duration(float64(c.read) / float64(c.opts.BytesPerSecond) * float64(time.Second))
	wait := due - time.Since(c.since)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewCleaner returns a cleaner; o is copied and defaulted.
func NewCleaner(o Options) *Cleaner {
	o.EnsureDefaults()
	return &Cleaner{opts: o, keys: newKeyMap()}
}

// Clean cleans l if policy says it is due at time now, in as many passes
// as its key map needs to reach the end of the cleanable part. On error
// (or ctx done) the steps applied so far stay, which is safe: the next
// call redoes the unfinished pass.
func (c *Cleaner) Clean(ctx context.Context, l Log, pol Policy, now time.Time) (Result, error) {
	var res Result
	end, err := cleanableEnd(l, pol, now)
	if err != nil {
		return res, err
	}
	due, err := c.due(l, pol, end, now)
	if err != nil || !due {
		return res, err
	}
	for {
		dirty := l.CleanedTo()
		if dirty >= end {
			return res, nil
		}
		if err := c.pass(ctx, l, pol, dirty, end, now, &res); err != nil {
			return res, err
		}
		res.Passes++
	}
}

// cleanableEnd is the first offset a pass may not clean: the newest batch
// and anything younger than the minimum lag stay as they are.
func cleanableEnd(l Log, pol Policy, now time.Time) (int64, error) {
	end := l.TailStart()
	if pol.MinCompactionLag > 0 {
		young, err := l.BaseAtTime(now.Add(-pol.MinCompactionLag + time.Millisecond))
		if err != nil {
			return 0, err
		}
		end = min(end, young)
	}
	return end, nil
}

// due reports whether the dirty part of [log start, end) is large enough,
// or old enough, to clean.
func (c *Cleaner) due(l Log, pol Policy, end int64, now time.Time) (bool, error) {
	start, dirty := l.LogStart(), l.CleanedTo()
	if dirty >= end {
		return false, nil
	}
	dirtyBytes, err := l.SizeBetween(dirty, end)
	if err != nil || dirtyBytes == 0 {
		return false, err
	}
	total, err := l.SizeBetween(start, end)
	if err != nil {
		return false, err
	}
	if float64(dirtyBytes) >= pol.MinDirtyRatio*float64(total) {
		return true, nil
	}
	if pol.MaxCompactionLag <= 0 || pol.MaxCompactionLag >= math.MaxInt64/2 {
		return false, nil
	}
	bs, err := l.Batches(dirty, end, 0)
	if err != nil || len(bs) == 0 {
		return false, err
	}
	return bs[0].MaxTimestamp().Before(now.Add(-pol.MaxCompactionLag)), nil
}

// pass maps the dirty part from dirty on, as far as the key map holds,
// then rewrites the log from its start to there.
func (c *Cleaner) pass(ctx context.Context, l Log, pol Policy, dirty, end int64, now time.Time, res *Result) error {
	c.keys.reset()
	c.read, c.since = 0, time.Now()
	mapEnd, err := c.mapKeys(ctx, l, dirty, end)
	if err != nil {
		return err
	}
	return c.rewrite(ctx, l, pol, dirty, mapEnd, now, res)
}

// mapKeys records the latest offset of each key in the batches from dirty
// to end and returns where it stopped: the batch boundary before the first
// batch that would overflow the map (it always maps one batch).
func (c *Cleaner) mapKeys(ctx context.Context, l Log, dirty, end int64) (int64, error) {
	mapEnd := dirty
	for mapEnd < end {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		bs, err := l.Batches(mapEnd, end, c.opts.ReadBytes)
		if err == nil {
			err = c.pace(ctx, bs)
		}
		if err != nil {
			return 0, err
		}
		if len(bs) == 0 {
			return end, nil
		}
		for _, b := range bs {
			if c.keys.len() > 0 && c.keys.len()+b.NumRecords() > c.opts.KeyMapSize {
				return mapEnd, nil
			}
			if err := c.mapBatch(b); err != nil {
				return 0, err
			}
			mapEnd = b.LastOffset() + 1
		}
	}
	return mapEnd, nil
}

func (c *Cleaner) mapBatch(b log.Batch) error {
	if b.Control() {
		return nil
	}
	var err error
	if c.recs, err = b.Records(c.recs[:0]); err != nil {
		return err
	}
	for i := range c.recs {
		if r := &c.recs[i]; r.Key != nil {
			c.keys.put(r.Key, r.Offset)
		}
	}
	return nil
}

// rewriter carries one pass's rewrite state.
type rewriter struct {
	c       *Cleaner
	l       Log
	dirty   int64     // records below were cleaned before this pass
	horizon time.Time // tombstones in batches older than this may go
	// settled: records below were first cleaned delete.retention.ms
	// ago or more, so consumers had that long to see their tombstones
	// (Kafka's delete horizon, KIP-534), whatever their timestamps say.
	settled int64
	step    log.Rewrite
	bytes   int // of the step so far
	res     *Result
}

// rewrite filters every batch from the log start to mapEnd and applies
// the result in steps; the last step moves the checkpoint to mapEnd.
func (c *Cleaner) rewrite(ctx context.Context, l Log, pol Policy, dirty, mapEnd int64, now time.Time, res *Result) error {
	horizon := now.Add(-pol.DeleteRetention)
	w := &rewriter{c: c, l: l, dirty: dirty, horizon: horizon, settled: min(dirty, l.CleanedBefore(horizon)), res: res}
	for off := l.LogStart(); off < mapEnd; {
		if err := ctx.Err(); err != nil {
			return err
		}
		bs, err := l.Batches(off, mapEnd, c.opts.ReadBytes)
		if err == nil {
			err = c.pace(ctx, bs)
		}
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			break
		}
		for _, b := range bs {
			if err := w.batch(ctx, b); err != nil {
				return err
			}
			off = b.LastOffset() + 1
		}
	}
	w.step.Done, w.step.CleanedTo = true, mapEnd
	w.step.At, w.step.MarkAge = now, pol.DeleteRetention
	return w.flush(ctx)
}

// batch filters one batch into the step, applying the step when full.
func (w *rewriter) batch(ctx context.Context, b log.Batch) error {
	if b.Control() {
		return nil
	}
	w.res.Read += int64(b.NumRecords())
	w.res.BytesBefore += int64(b.Len())
	expire := b.MaxTimestamp().Before(w.horizon)
	out, kept, err := b.Filter(func(r *log.Record) bool { return w.keep(r, expire) })
	if err != nil {
		return err
	}
	w.res.BytesAfter += int64(len(out))
	if kept == b.NumRecords() {
		return nil
	}
	removed := int64(b.NumRecords() - kept)
	w.res.Removed += removed
	w.step.Records += removed
	w.step.Batches = append(w.step.Batches, log.Replace{Last: b.LastOffset(), Old: b.Len(), Batch: out, MaxTimestamp: b.MaxTimestamp()})
	w.bytes += len(out) + 64
	if w.bytes >= w.c.opts.StepBytes {
		return w.flush(ctx)
	}
	return nil
}

// keep decides one record's fate; expire says its batch is past the
// tombstone horizon.
func (w *rewriter) keep(r *log.Record, expire bool) bool {
	if r.Key == nil {
		return true
	}
	if latest, ok := w.c.keys.get(r.Key); ok && latest > r.Offset {
		return false // superseded by a later record of the key
	}
	if r.Value == nil && r.Offset < w.settled && expire {
		// A tombstone cleaned once before (so every older record of its
		// key is gone), that long enough ago, and past delete.retention.ms.
		w.step.Expired = append(w.step.Expired, log.Record{Key: append([]byte(nil), r.Key...), Offset: r.Offset})
		return false
	}
	return true
}

func (w *rewriter) flush(ctx context.Context) error {
	if len(w.step.Batches) == 0 && !w.step.Done {
		return nil
	}
	err := w.l.ApplyClean(ctx, &w.step)
	w.step = log.Rewrite{}
	w.bytes = 0
	return err
}
