package cairn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
	"github.com/cockroachdb/pebble/v2"
)

// Record and Header are the log's record types, re-exported.
type (
	Record = log.Record
	Header = log.Header
)

// Broker is an embedded log: topics of partitions stored in one Pebble
// database that it owns. It is safe for concurrent use.
type Broker struct {
	dir    string
	opts   Options
	db     *pebble.DB
	lock   *pebble.Lock
	topics *topic.Registry
	groups *group.Coordinator

	pidMu     sync.Mutex // serializes producer id allocation
	pidClosed bool       // set under pidMu by Close, before Pebble closes
	clean     *cleanup   // retention and compaction (retention.go)

	// topicMu orders DeleteTopic's removal of commits (write) against
	// CommitOffsets (read), so a commit cannot land between a topic's
	// deletion and the removal of its commits.
	topicMu sync.RWMutex
	// deleteMu is held by DeleteTopic throughout; Close takes it to wait
	// for a DeleteTopic in flight.
	deleteMu sync.Mutex

	closed atomic.Bool
	stop   chan struct{}  // closed by Close to end the syncer
	wg     sync.WaitGroup // the syncer goroutine
}

// Open opens (or creates) the broker stored in dir. Only one Broker may
// have dir open at a time; another gets ErrLocked, whether it is in this
// process or another.
func Open(dir string, opts *Options) (*Broker, error) {
	var o Options
	if opts != nil {
		o = *opts // Open keeps its own copy
	}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := o.FS.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cairn: create %s: %w", dir, err)
	}
	lock, err := pebble.LockDirectory(dir, o.FS)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
	}
	po := o.pebbleOptions()
	po.FS, po.Lock = o.FS, lock
	db, err := pebble.Open(dir, po)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("cairn: open %s: %w", dir, err)
	}
	reg, err := topic.Load(topic.Options{DB: db, Sync: o.Durability == SyncAlways, Now: o.Now})
	if err != nil {
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("cairn: load topics in %s: %w", dir, err)
	}
	groups, err := group.Open(group.Options{DB: db, Sync: o.Durability == SyncAlways, Now: o.Now,
		InitialRebalanceDelay: o.InitialRebalanceDelay})
	if err != nil {
		reg.Close()
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("cairn: load groups in %s: %w", dir, err)
	}
	b := &Broker{dir: dir, opts: o, db: db, lock: lock, topics: reg, groups: groups, stop: make(chan struct{})}
	groups.SetPartitions(b)
	if err := b.forgetDeletedTopics(); err != nil {
		groups.Close()
		reg.Close()
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("cairn: load groups in %s: %w", dir, err)
	}
	if o.Durability != SyncAlways {
		b.wg.Add(1)
		go b.syncLoop()
	}
	b.startCleanup()
	return b, nil
}

// syncLoop, every SyncInterval until Close, fsyncs the WAL (SyncInterval)
// or hands it to the OS without an fsync (NoSync).
//
// Pebble's WAL writer keeps the block it is filling (32 KB) in memory
// until the block is full or a sync is asked for: under NoSync, appends
// that did not fill one stayed in the process, however long ago they were
// acknowledged, and a kill lost them (a topic created, 20 appends and a
// commit, all gone a second later). A LogData record (written to the WAL,
// never applied) as large as a block fills the block, which Pebble then
// writes out. It is written only when something was written since the
// last one, so an idle broker's WAL does not grow.
func (b *Broker) syncLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.opts.SyncInterval)
	defer t.Stop()
	pad := make([]byte, walBlockSize)
	padIn := walBytes(b.db, pad) // what a pad adds to the WAL's bytes in
	var written uint64           // the WAL's bytes in after the last pad
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		if b.opts.Durability == SyncInterval {
			if err := b.db.LogData(nil, pebble.Sync); err != nil {
				quietLogger{}.Errorf("cairn: periodic WAL sync: %v", err)
			}
			continue
		}
		in := b.db.Metrics().WAL.BytesIn
		if in == written {
			continue // nothing since the last pad: it was written out
		}
		// Pebble counts a batch's bytes in as it writes it to the WAL,
		// in order: whatever in counts lies before the pad. What is
		// written after the pad makes the next tick's count differ.
		if err := b.db.LogData(pad, pebble.NoSync); err != nil {
			quietLogger{}.Errorf("cairn: periodic WAL flush: %v", err)
			continue
		}
		written = in + padIn
	}
}

// walBytes returns what a LogData of data adds to db's WAL bytes in: its
// batch's length.
func walBytes(db *pebble.DB, data []byte) uint64 {
	bt := db.NewBatch()
	defer bt.Close()
	_ = bt.LogData(data, nil)
	return uint64(len(bt.Repr()))
}

// walBlockSize is the size of Pebble's WAL blocks (record.blockSize).
const walBlockSize = 32 << 10

// Close flushes and closes the broker. Calls in flight finish first; later
// calls return ErrClosed. Close is idempotent.
func (b *Broker) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	close(b.stop)
	b.wg.Wait()
	// Calls that use Pebble directly and passed check before closed was
	// set finish first: a Cleanup (stopped by b.stop) and InitProducerID.
	b.clean.mu.Lock()
	b.clean.closed = true
	b.clean.mu.Unlock()
	b.pidMu.Lock()
	b.pidClosed = true
	b.pidMu.Unlock()
	// A DeleteTopic in flight finishes both of its steps first; a later
	// one sees closed once it holds deleteMu.
	b.deleteMu.Lock()
	err := errors.Join(b.groups.Close(), b.topics.Close())
	b.deleteMu.Unlock()
	if b.opts.Durability != SyncAlways {
		// A clean close is durable at every level.
		err = errors.Join(err, b.db.Flush())
	}
	err = errors.Join(err, b.db.Close(), b.lock.Close())
	return err
}

// Dir returns the broker's data directory.
func (b *Broker) Dir() string { return b.dir }

// check fails once the broker is closed or ctx is done.
func (b *Broker) check(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// Partition returns a partition handle for lower-level use (the producer
// and consumer packages use it). It stays valid until the topic is deleted
// or the broker closed, after which its calls return ErrClosed.
func (b *Broker) Partition(topicName string, p int32) (*partition.Partition, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	return b.topics.Partition(topicName, p)
}

// partitionFor returns a partition for a call that takes ctx: it fails
// once the broker is closed or ctx is done.
func (b *Broker) partitionFor(ctx context.Context, topicName string, p int32) (*partition.Partition, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	return b.topics.Partition(topicName, p)
}

// Append appends recs as one batch to a partition and returns the offset of
// the first. The batch is all-or-nothing.
func (b *Broker) Append(ctx context.Context, topicName string, p int32, recs ...Record) (int64, error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return 0, err
	}
	return part.Append(ctx, recs)
}

// AppendBatch validates a RecordBatch v2 built elsewhere and appends it,
// returning its base offset. raw is not modified.
func (b *Broker) AppendBatch(ctx context.Context, topicName string, p int32, raw []byte) (int64, error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return 0, err
	}
	return part.AppendBatch(ctx, raw)
}

// AppendLogBatch appends b, a batch from log.Parse or a log.Builder, and
// returns its base offset. A parsed batch's records are validated first;
// a built batch's were checked as they were added (the producer package
// appends this way). b is not modified and not kept.
func (b *Broker) AppendLogBatch(ctx context.Context, topicName string, p int32, batch log.Batch) (int64, error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return 0, err
	}
	return part.AppendLogBatch(ctx, batch)
}

// AppendLogBatchAsync is AppendLogBatch in two steps, as AppendBatchAsync,
// except that wait is nil when there is nothing to wait for (NoSync and
// SyncInterval: the batch is visible on return). The producer package
// keeps several batches of a partition appending at once this way, so
// they share fsyncs, and completes them at once without sync.
func (b *Broker) AppendLogBatchAsync(ctx context.Context, topicName string, p int32, batch log.Batch) (base int64, wait func() error, err error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return 0, nil, err
	}
	base, wait, err = part.AppendLogBatchAsync(ctx, batch)
	if err == nil && !part.Syncs() {
		wait = nil // a no-op without sync (see partition.AppendBatchAsync)
	}
	return base, wait, err
}

// AppendBatchAsync is AppendBatch in two steps, for servers that pipeline
// requests: it returns once the batch has its offsets (appends started one
// after another on a partition keep that order), and wait returns once it
// is durable, with the final error. wait must be called exactly once.
func (b *Broker) AppendBatchAsync(ctx context.Context, topicName string, p int32, raw []byte) (base int64, wait func() error, err error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return 0, nil, err
	}
	return part.AppendBatchAsync(ctx, raw)
}

// Fetch returns stored batches from offset on, up to maxBytes (at least
// one batch when there is data). It does not wait; see Wait.
func (b *Broker) Fetch(ctx context.Context, topicName string, p int32, offset int64, maxBytes int) (partition.Fetch, error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return partition.Fetch{}, err
	}
	return part.Read(offset, maxBytes)
}

// FetchInto is Fetch copying the batches into buf rather than fresh
// memory; see partition.Partition.ReadInto. It returns the buffer to reuse
// for the next fetch.
func (b *Broker) FetchInto(ctx context.Context, buf []byte, topicName string, p int32, offset int64, maxBytes int) (partition.Fetch, []byte, error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return partition.Fetch{}, buf, err
	}
	return part.ReadInto(buf, offset, maxBytes)
}

// Read returns records from offset on, decoded, up to about maxBytes of
// stored batches. It does not wait; see Wait.
func (b *Broker) Read(ctx context.Context, topicName string, p int32, offset int64, maxBytes int) ([]Record, error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return nil, err
	}
	return part.ReadRecords(offset, maxBytes)
}

// Wait blocks until a record at offset or later can be read from the
// partition, ctx is done, or the broker closes.
func (b *Broker) Wait(ctx context.Context, topicName string, p int32, offset int64) error {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return err
	}
	return part.Wait(ctx, offset)
}

// Changed returns a channel closed at the partition's next high watermark
// move; see partition.Partition.Changed.
func (b *Broker) Changed(topicName string, p int32) (<-chan struct{}, error) {
	part, err := b.Partition(topicName, p)
	if err != nil {
		return nil, err
	}
	return part.Changed(), nil
}

// Watermarks returns a partition's log start offset and high watermark.
func (b *Broker) Watermarks(topicName string, p int32) (logStart, highWatermark int64, err error) {
	part, err := b.Partition(topicName, p)
	if err != nil {
		return 0, 0, err
	}
	return part.LogStart(), part.HighWatermark(), nil
}

// DeleteRecords moves a partition's log start offset up to before, as
// Kafka's DeleteRecords. The deleted batches go in one range deletion.
func (b *Broker) DeleteRecords(ctx context.Context, topicName string, p int32, before int64) error {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return err
	}
	return part.DeleteRecords(ctx, before)
}
