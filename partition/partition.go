package partition

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

// Config is the part of a topic's configuration a partition enforces. It
// can be swapped at run time with SetConfig.
type Config struct {
	// MaxMessageBytes bounds one stored batch, as Kafka's max.message.bytes.
	MaxMessageBytes int
	// LogAppendTime stamps batches with the append time instead of keeping
	// the producer's create time.
	LogAppendTime bool
	// Codec compresses batches that Append builds from records.
	Codec log.Codec
	// Compacted is set for topics whose cleanup.policy includes compact:
	// appends refuse records without a key (ErrKeyRequired) and keep the
	// key index that Get reads.
	Compacted bool
}

// Options says where a partition lives. DB is borrowed, never closed.
type Options struct {
	DB        *pebble.DB
	Topic     string
	TopicID   uint32
	Partition int32
	Config    Config
	// Sync makes each append wait for the WAL fsync before it is
	// acknowledged and visible to readers.
	Sync bool
	// Now returns the append time; nil means time.Now.
	Now func() time.Time
	// ProducerExpiry is how long an idle idempotent producer's dedupe
	// state is kept; default DefaultProducerExpiry.
	ProducerExpiry time.Duration
}

// Partition is one ordered log of record batches addressed by offset.
// Appends are serialized by mu; reads take no lock and see everything below
// the high watermark.
type Partition struct {
	db     *pebble.DB
	topic  string
	id     uint32
	index  int32
	sync   bool
	now    func() time.Time
	prefix []byte // d | topicID | partition

	producerExpiry time.Duration
	cfg            atomic.Pointer[Config]

	// life is held shared by every call that touches the DB and exclusively
	// by Close, so the DB is never used after the partition closes.
	life   sync.RWMutex
	closed bool // guarded by life
	// done is closed for broadcast, which cannot take life: it is set
	// with closed and never cleared.
	done atomic.Bool

	mu struct {
		sync.Mutex
		next int64 // offset the next batch gets
		err  error // a failed WAL sync leaves the partition unusable
		// maxTime is the largest batch max timestamp in the time index.
		maxTime int64
		// timeDropped is where DeleteRecords' last range deletion of the
		// time index ended, the next one's start (see dropTimeEntries);
		// MinInt64, the index's first key, until one ran since Open.
		timeDropped int64
		// producers is the idempotent producers' dedupe state by id.
		producers map[int64]producerState
		// sweepAt is when (unix ms) appends next look for expired
		// producer states (producers.go).
		sweepAt int64
		// sizes tracks the stored batches' bytes (size.go).
		sizes sizes
		// clean is the cleaner's checkpoint and counters (clean.go).
		clean cleanState
	}
	size atomic.Int64 // mu.sizes.total, for readers without mu
	tail atomic.Int64 // base offset of the last stored batch

	hwm      atomic.Int64
	logStart atomic.Int64
	// notify is closed and replaced each time the high watermark moves.
	// It is held in an atomic.Value, which stores a channel without
	// boxing it, so a move costs one allocation (the channel), not two.
	notify atomic.Value // chan struct{}
}

// Open loads a partition's state from the DB: the log start offset from its
// state key and the high watermark from its last batch.
func Open(o Options) (*Partition, error) {
	if o.DB == nil {
		return nil, fmt.Errorf("%w: partition %s/%d: nil DB", ErrInvalidArgument, o.Topic, o.Partition)
	}
	if o.Partition < 0 {
		return nil, fmt.Errorf("%w: partition %s/%d: negative index", ErrInvalidArgument, o.Topic, o.Partition)
	}
	p := &Partition{
		db:     o.DB,
		topic:  o.Topic,
		id:     o.TopicID,
		index:  o.Partition,
		sync:   o.Sync,
		now:    o.Now,
		prefix: log.PartitionPrefix(nil, log.PrefixData, o.TopicID, uint32(o.Partition)),
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.producerExpiry = o.ProducerExpiry
	if p.producerExpiry <= 0 {
		p.producerExpiry = DefaultProducerExpiry
	}
	cfg := o.Config
	p.cfg.Store(&cfg)
	p.notify.Store(make(chan struct{}))
	start, err := p.loadLogStart()
	if err != nil {
		return nil, err
	}
	end, err := p.loadLogEnd()
	if err != nil {
		return nil, err
	}
	end = max(end, start)
	if p.mu.maxTime, err = p.loadMaxTime(); err != nil {
		return nil, err
	}
	p.mu.timeDropped = math.MinInt64
	if p.mu.producers, err = p.loadProducers(); err != nil {
		return nil, err
	}
	if err := p.loadSizes(); err != nil {
		return nil, err
	}
	if p.mu.clean, err = p.loadCleanState(); err != nil {
		return nil, err
	}
	p.logStart.Store(start)
	p.hwm.Store(end)
	p.mu.next = end
	if err := p.loadTail(end); err != nil {
		return nil, err
	}
	p.size.Store(p.mu.sizes.total)
	return p, nil
}

func (p *Partition) stateKey() []byte {
	return log.PartitionPrefix(nil, log.PrefixPartition, p.id, uint32(p.index))
}

func (p *Partition) loadLogStart() (int64, error) {
	v, closer, err := p.db.Get(p.stateKey())
	if err == pebble.ErrNotFound {
		return 0, nil
	}
	if err != nil {
		return 0, p.wrap(-1, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, p.wrap(-1, fmt.Errorf("%w: partition state of %d bytes", ErrCorruptStorage, len(v)))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// loadLogEnd returns one past the last stored offset, or 0.
func (p *Partition) loadLogEnd() (int64, error) {
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: p.prefix, UpperBound: log.PrefixEnd(p.prefix)})
	if err != nil {
		return 0, p.wrap(-1, err)
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return 0, p.wrap(-1, err)
		}
		return 0, nil
	}
	last, ok := log.DataKeyOffset(it.Key())
	if !ok {
		return 0, p.wrap(-1, fmt.Errorf("%w: bad data key %x", ErrCorruptStorage, it.Key()))
	}
	return last + 1, nil
}

// Topic returns the partition's topic name.
func (p *Partition) Topic() string { return p.topic }

// Syncs reports whether appends wait for the WAL fsync (Options.Sync):
// without it, an async append's wait returns nil at once and holds
// nothing.
func (p *Partition) Syncs() bool { return p.sync }

// Index returns the partition number.
func (p *Partition) Index() int32 { return p.index }

// HighWatermark returns the offset the next appended record will get once
// every acknowledged append is visible: readers see offsets below it.
func (p *Partition) HighWatermark() int64 { return p.hwm.Load() }

// LogStart returns the first offset still readable.
func (p *Partition) LogStart() int64 { return p.logStart.Load() }

// SetConfig swaps the partition's configuration for later appends.
func (p *Partition) SetConfig(c Config) { p.cfg.Store(&c) }

// HoldAppends makes appends, DeleteRecords and cleaning steps wait until
// release is called, and returns the log end: the offset the next append
// will get, counting appends stored but not yet acknowledged. It lets a
// caller change the configuration knowing what is stored (the registry
// turns compaction on only for a partition without records). release
// may be called more than once; only the first call releases. The caller
// must not call the partition's writing methods (or Get) before release:
// they would wait for it.
func (p *Partition) HoldAppends() (logEnd int64, release func()) {
	p.mu.Lock()
	return p.mu.next, sync.OnceFunc(p.mu.Unlock)
}

// Config returns the partition's current configuration.
func (p *Partition) Config() Config { return *p.cfg.Load() }

// ConfigRef returns the partition's current configuration, not to be
// modified, as an identity: each SetConfig installs a new one, so two
// calls return the same pointer only if no SetConfig ran between them,
// and an append made between them used that configuration.
func (p *Partition) ConfigRef() *Config { return p.cfg.Load() }

// Close makes later calls fail with ErrClosed and wakes waiters. It waits
// for calls in flight and never touches the DB afterwards.
func (p *Partition) Close() error {
	p.life.Lock()
	p.closed = true
	p.done.Store(true)
	p.life.Unlock()
	p.broadcast()
	return nil
}

// enter guards a call that uses the DB; the caller must call p.life.RUnlock.
func (p *Partition) enter() error {
	p.life.RLock()
	if p.closed {
		p.life.RUnlock()
		return ErrClosed
	}
	return nil
}

func (p *Partition) wrap(off int64, err error) error {
	return &Error{Topic: p.topic, Partition: p.index, Offset: off, Err: err}
}

// publish raises the high watermark to end and wakes waiters. Concurrent
// synced appends finish out of order, so it only ever moves forward.
func (p *Partition) publish(end int64) {
	for {
		cur := p.hwm.Load()
		if end <= cur || p.hwm.CompareAndSwap(cur, end) {
			break
		}
	}
	p.broadcast()
}

// broadcast closes the channel Changed returned and installs the next
// one: a fresh one, or, once the partition is closed, closedNotify, so a
// Changed after Close (a handle of a deleted topic, say) returns a
// channel that is closed already rather than one nothing will close.
func (p *Partition) broadcast() {
	for {
		old := p.notify.Load().(chan struct{})
		if old == closedNotify {
			return
		}
		next := closedNotify
		if !p.done.Load() {
			next = make(chan struct{})
		}
		if p.notify.CompareAndSwap(old, next) {
			close(old)
			return
		}
	}
}

// closedNotify is the closed channel a closed partition's Changed returns.
var closedNotify = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// changed returns the channel the next move of the watermark closes.
func (p *Partition) changed() chan struct{} { return p.notify.Load().(chan struct{}) }

// Changed returns a channel that is closed the next time the high
// watermark moves (or the partition closes). Check the watermark after
// taking the channel, not before, so no move is missed. It lets a reader
// wait on many partitions at once with one select.
func (p *Partition) Changed() <-chan struct{} { return p.changed() }

// Wait blocks until the high watermark is above offset, that is until a
// record at offset or later can be read, or ctx is done, or the partition
// closes.
func (p *Partition) Wait(ctx context.Context, offset int64) error {
	return p.wait(ctx, offset, false)
}

// wait is Wait; with applied (the record at offset is applied already),
// it also returns the partition's failure, after which that record will
// never become visible.
func (p *Partition) wait(ctx context.Context, offset int64, applied bool) error {
	for {
		ch := p.changed() // load before checking, so no wake-up is lost
		if p.hwm.Load() > offset {
			return nil
		}
		if applied {
			p.mu.Lock()
			err := p.mu.err
			p.mu.Unlock()
			if err != nil {
				return err
			}
		}
		p.life.RLock()
		closed := p.closed
		p.life.RUnlock()
		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
