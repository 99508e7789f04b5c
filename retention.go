package cairn

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

// PartitionStats are a partition's offsets, size and cleaner counters.
type PartitionStats = partition.Stats

// cleanup runs retention and the log cleaner over every topic, from the
// background loop and from Broker.Cleanup, one pass at a time.
type cleanup struct {
	mu      sync.Mutex // one pass at a time; guards the fields below
	cleaner *compaction.Cleaner
	// reclaimed is each partition's log start when its deleted range was
	// last compacted (see reclaim).
	reclaimed map[*partition.Partition]int64
	// swept is each compacted partition's log start when the key index
	// entries of the records below it were last dropped (see sweepKeys).
	swept map[*partition.Partition]int64
	// closed is set by Close, which takes mu to set it, so a pass in
	// progress ends before Pebble closes.
	closed bool
}

// startCleanup starts the background loop unless it is disabled. Both of
// its goroutines end when Close closes b.stop; the watcher cancels a pass
// in flight so Close does not wait for it.
func (b *Broker) startCleanup() {
	b.clean = &cleanup{cleaner: compaction.NewCleaner(b.opts.Cleaner),
		reclaimed: map[*partition.Partition]int64{}, swept: map[*partition.Partition]int64{}}
	if b.opts.CleanupInterval < 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		<-b.stop
		cancel()
	}()
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(b.opts.CleanupInterval)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				if err := b.cleanupPass(ctx); err != nil && ctx.Err() == nil {
					quietLogger{}.Errorf("cairn: cleanup: %v", err)
				}
			}
		}
	}()
}

// Cleanup runs one retention and cleaning pass over every topic now, as
// the background loop does every Options.CleanupInterval: topics whose
// cleanup.policy includes delete drop batches past retention.ms and
// retention.bytes; compacted topics are cleaned where due (see package
// compaction). It returns once the pass is done.
//
// Close stops a pass in progress (it returns ErrClosed) and waits for it.
func (b *Broker) Cleanup(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // ends with the pass: cancel runs on return
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := b.cleanupPass(ctx); err != nil {
		if b.closed.Load() {
			return ErrClosed
		}
		return err
	}
	return nil
}

func (b *Broker) cleanupPass(ctx context.Context) error {
	b.clean.mu.Lock()
	defer b.clean.mu.Unlock()
	if b.clean.closed {
		// A pass after Close must not compact a closed Pebble, which
		// waited for good.
		return ErrClosed
	}
	var errs []error
	for p := range b.clean.reclaimed {
		if !b.live(p) {
			delete(b.clean.reclaimed, p)
		}
	}
	for p := range b.clean.swept {
		if !b.live(p) {
			delete(b.clean.swept, p)
		}
	}
	for _, t := range b.topics.List() {
		for _, p := range t.Partitions {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := b.cleanPartition(ctx, t, p); err != nil && !errors.Is(err, ErrClosed) {
				errs = append(errs, err) // a deleted topic's partitions are closed: skip them
			}
		}
	}
	return errors.Join(errs...)
}

// live reports whether p is still its topic's partition: a deleted
// topic's is not, even once a topic of the same name was created again
// (its partitions are new ones, and the old would stay in memory).
func (b *Broker) live(p *partition.Partition) bool {
	q, err := b.topics.Partition(p.Topic(), p.Index())
	return err == nil && q == p
}

func (b *Broker) cleanPartition(ctx context.Context, t *topic.Topic, p *partition.Partition) error {
	now := b.opts.Now()
	cfg := t.Config
	if cfg.Delete() {
		r := compaction.Retention{Time: millis(cfg.Int(topic.RetentionMs)), Bytes: cfg.Int(topic.RetentionBytes)}
		if _, err := compaction.Retain(ctx, p, r, now); err != nil {
			return err
		}
	}
	// Whoever moved the log start (retention or DeleteRecords), free the
	// space now.
	if start := p.LogStart(); start > b.clean.reclaimed[p] {
		b.reclaim(ctx, t.ID, p.Index(), start)
		b.clean.reclaimed[p] = start
	}
	if cfg.Compact() {
		res, err := b.clean.cleaner.Clean(ctx, p, cleanPolicy(cfg), now)
		if err != nil {
			return err
		}
		return b.sweepKeys(ctx, p, res.Passes > 0)
	}
	return nil
}

// sweepKeys drops the key index entries of records that retention or
// DeleteRecords removed, once the log start moved since the last sweep.
// The sweep scans the whole index, so it runs only along with a cleaning
// pass (which reads the whole log anyway) or once the log is empty.
func (b *Broker) sweepKeys(ctx context.Context, p *partition.Partition, cleaned bool) error {
	start := p.LogStart()
	if start <= b.clean.swept[p] || (!cleaned && start < p.HighWatermark()) {
		return nil
	}
	if _, err := p.DropStaleKeys(ctx); err != nil {
		return err
	}
	b.clean.swept[p] = start
	return nil
}

// cleanPolicy turns a topic's config into the cleaner's policy.
func cleanPolicy(cfg topic.Config) compaction.Policy {
	return compaction.Policy{
		MinDirtyRatio:    cfg.Float(topic.MinCleanableDirtyRatio),
		MinCompactionLag: millis(cfg.Int(topic.MinCompactionLagMs)),
		MaxCompactionLag: millis(cfg.Int(topic.MaxCompactionLagMs)),
		DeleteRetention:  millis(cfg.Int(topic.DeleteRetentionMs)),
	}
}

// millis converts a config value in ms to a Duration, saturating; -1 stays
// negative.
func millis(ms int64) time.Duration {
	if ms < 0 {
		return -1
	}
	if ms > int64(1<<63-1)/int64(time.Millisecond) {
		return 1<<63 - 1
	}
	return time.Duration(ms) * time.Millisecond
}

// PartitionStats returns a partition's log start offset, high watermark,
// size in bytes and cleaner counters (records cleaned, last cleaning).
func (b *Broker) PartitionStats(topicName string, p int32) (PartitionStats, error) {
	part, err := b.Partition(topicName, p)
	if err != nil {
		return PartitionStats{}, err
	}
	return part.Stats(), nil
}

// reclaim compacts the data keys a retention deletion removed, below
// before, so that Pebble drops their files now rather than whenever its
// own compactions reach them: with value separation, the batches live in
// blob files that are deleted only once no sstable refers to them. The
// range is all tombstone, so this is mostly deleting whole files. A
// failure only delays reclamation, so it is logged, not returned.
func (b *Broker) reclaim(ctx context.Context, topicID uint32, p int32, before int64) {
	start := log.DataKey(nil, topicID, uint32(p), 0)
	end := log.DataKey(nil, topicID, uint32(p), before)
	if err := b.db.Compact(ctx, start, end, false); err != nil && ctx.Err() == nil {
		quietLogger{}.Errorf("cairn: reclaim space of %d/%d: %v", topicID, p, err)
	}
}
