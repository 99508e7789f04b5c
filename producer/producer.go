package producer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

// Record is a log record with its destination; see log.Record.
type Record = log.Record

// Broker is what a Producer needs from a broker. *cairn.Broker implements
// it in-process; other transports can too.
type Broker interface {
	// PartitionCount returns a topic's partition count.
	PartitionCount(topic string) (int, error)
	// AppendLogBatch appends a batch built by a log.Builder and returns
	// its base offset. It must not keep the batch after it returns: the
	// producer reuses its bytes.
	AppendLogBatch(ctx context.Context, topic string, partition int32, b log.Batch) (int64, error)
	// InitProducerID allocates an idempotent producer id and epoch.
	InitProducerID(ctx context.Context) (int64, int16, error)
}

// AsyncBroker is a Broker that can start an append and wait for it to be
// durable separately, as cairn.Broker does. With one, each partition keeps
// up to Options.MaxInFlight batches appending at once, so batches that
// arrive while one waits for its fsync share the next fsync instead of
// waiting for it in turn.
type AsyncBroker interface {
	Broker
	// AppendLogBatchAsync starts appending b and returns its base offset
	// once the batch has it; appends started one after another on a
	// partition keep that order. wait returns once the batch is durable,
	// with the append's final error; it is called exactly once, unless it
	// is nil: the batch is durable (as durable as the broker makes it)
	// already.
	AppendLogBatchAsync(ctx context.Context, topic string, partition int32, b log.Batch) (base int64, wait func() error, err error)
}

// Producer batches records per partition and appends them. It is safe for
// concurrent use. Each partition's records are appended in the order
// Produce was called for them, by one goroutine per partition; one more
// goroutine completes the appends (see AsyncBroker). All of them end on
// Close.
type Producer struct {
	b     Broker
	async AsyncBroker // b, if it is one
	opts  Options
	id    atomic.Pointer[log.Producer] // nil without idempotence

	buf      buffer
	flushing atomic.Int32 // > 0 while a Flush or ProduceSync wants batches sent now
	queueCap atomic.Int64 // entries in all partitions' pending arrays (see maxIdleQueue)
	// builderBytes is what all partitions' batch builders hold: a
	// partition that goes idle lets its builder's buffers go while it is
	// over MaxBufferedBytes (see part.idle).
	builderBytes atomic.Int64

	// closeMu guards closing, which makes Close run once. Produce takes
	// no lock: the buffer tells it (and Close) whether it got in before
	// Close began; see buffer. closed is closed once the first Close is
	// done, with its result in closeErr: later Closes wait for it.
	closeMu  sync.Mutex
	closing  bool
	closed   chan struct{}
	closeErr error

	// parts maps a topic to its partitions' batchers, by partition index
	// (nil until first used). It is copied on write under partsMu, so
	// Produce finds its batcher without a lock.
	partsMu sync.Mutex
	parts   atomic.Pointer[map[string][]*part]

	done  chan struct{} // closed by Close: senders drain and exit
	abort atomic.Bool   // set when Close's ctx ends: senders fail what is left
	// appendCtx is the ctx of appends, cancelled with abort: an append
	// that does not end by itself (a transport whose peer hangs) must not
	// keep Close waiting past its ctx.
	appendCtx   context.Context
	stopAppends context.CancelFunc
	wg          sync.WaitGroup

	// flights carries every batch whose append started (or failed to), in
	// that order, to the acker goroutine, which completes them; it ends
	// (closing ackerDone) once Close has stopped the senders.
	flights   chan flight
	ackerDone chan struct{}
}

type topicPartition struct {
	topic     string
	partition int32
}

// New returns a producer appending to b. With idempotence (the default) it
// allocates a producer id from b.
func New(ctx context.Context, b Broker, opts *Options) (*Producer, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: producer: nil broker", partition.ErrInvalidArgument)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	p := &Producer{b: b, opts: o, done: make(chan struct{}), closed: make(chan struct{}),
		flights: make(chan flight, flightQueue), ackerDone: make(chan struct{})}
	p.async, _ = b.(AsyncBroker)
	p.appendCtx, p.stopAppends = context.WithCancel(context.Background())
	p.parts.Store(&map[string][]*part{})
	p.buf.init(o.MaxBufferedBytes, o.MaxBufferedRecords, o.FailFast)
	p.buf.reclaim = p.reclaimCredit
	if o.Linger > 0 { // without a linger, senders send what is pending at once
		p.buf.onBlock = p.wakeAll
	}
	if !o.DisableIdempotence {
		if err := p.newIdentity(ctx); err != nil {
			return nil, err
		}
	}
	go p.acker()
	return p, nil
}

// flightQueue is how many flights may wait for the acker before senders
// block handing over more; each partition has at most MaxInFlight.
const flightQueue = 256

// acker completes flights in the order their appends started.
func (p *Producer) acker() {
	defer close(p.ackerDone)
	for f := range p.flights {
		f.ack()
	}
}

// newIdentity takes a fresh producer id; partitions restart their
// sequences at 0 when they see it.
func (p *Producer) newIdentity(ctx context.Context) error {
	id, epoch, err := p.b.InitProducerID(ctx)
	if err != nil {
		return fmt.Errorf("cairn: producer id: %w", err)
	}
	p.id.Store(&log.Producer{ID: id, Epoch: epoch})
	return nil
}

// Produce adds rec to its partition's batch and returns at once; promise
// (which may be nil) is called exactly once: when rec is appended (with
// Partition and Offset set) or has failed, from another goroutine; or,
// when rec is refused before it is buffered (invalid, the buffer full
// with FailFast, ctx done while waiting for room, the producer closed),
// on the caller's goroutine before Produce returns. Produce blocks only
// while the buffer is full, until ctx is done.
//
// Promises run on the producer's own goroutines before their batch's
// room in the buffer is freed, so a promise must not call Flush or Close,
// nor a Produce that may wait for room: it would wait for itself. Hand
// such work to another goroutine.
//
// A record with a zero Timestamp is stamped when its batch is built, after
// Produce returns and before the promise runs: one clock reading serves
// the whole batch (on the machines we measured, reading the clock cost
// 30–60 ns, a quarter of Produce's own work when paid per record), and a
// producer's timestamps never go back within a partition unless the wall
// clock does. The stamp is later than the Produce call by the time the
// record waited behind earlier batches, usually microseconds.
func (p *Producer) Produce(ctx context.Context, rec *Record, promise func(*Record, error)) {
	if promise == nil {
		promise = func(*Record, error) {}
	}
	size, err := p.prepare(rec)
	if err != nil {
		promise(rec, err)
		return
	}
	r := pending{rec: rec, promise: promise, size: size}
	if pt := p.existing(rec.Topic, rec.Partition); pt != nil && !p.buf.closed.Load() && pt.addCredited(r) {
		return // room taken ahead by the partition: no atomic on the buffer
	}
	if err := p.buf.acquire(ctx, size); err != nil {
		promise(rec, err)
		return
	}
	// Room taken before Close began keeps Close from stopping the
	// senders until this record is sent (see buffer).
	pt := p.part(rec.Topic, rec.Partition)
	credBytes, credRecs := p.buf.extra(size)
	pt.add(r, credBytes, credRecs)
}

// prepare validates rec, picks its partition and returns its buffer size.
func (p *Producer) prepare(rec *Record) (int, error) {
	if rec == nil {
		return 0, fmt.Errorf("%w: nil record", partition.ErrInvalidArgument)
	}
	n, err := p.b.PartitionCount(rec.Topic)
	if err != nil {
		return 0, err
	}
	rec.Partition = p.opts.Partitioner.Partition(rec, n)
	if rec.Partition < 0 || int(rec.Partition) >= n {
		return 0, &topic.UnknownPartitionError{Topic: rec.Topic, Partition: rec.Partition}
	}
	if ts := rec.Timestamp; !ts.IsZero() && !log.InMilliRange(ts) {
		// Refused here, alone, rather than by the batch it would join.
		return 0, &partition.Error{Topic: rec.Topic, Partition: rec.Partition, Offset: -1,
			Err: fmt.Errorf("%w: %w: timestamp %v outside int64 milliseconds", log.ErrCorruptBatch, log.ErrInvalidRecord, ts)}
	}
	size := 24 + len(rec.Key) + len(rec.Value)
	for _, h := range rec.Headers {
		if len(h.Key) > log.MaxHeaderKeyLen {
			return 0, &partition.Error{Topic: rec.Topic, Partition: rec.Partition, Offset: -1, Err: log.ErrInvalidHeader}
		}
		size += 8 + len(h.Key) + len(h.Value)
	}
	if size+log.HeaderSize > p.opts.MaxBatchBytes {
		return 0, &partition.Error{Topic: rec.Topic, Partition: rec.Partition, Offset: -1,
			Err: fmt.Errorf("%w: record of about %d bytes, producer max batch bytes is %d",
				partition.ErrMessageTooLarge, size, p.opts.MaxBatchBytes)}
	}
	return size, nil
}

// reclaimCredit takes back the room every partition took ahead, and
// reports whether any did.
func (p *Producer) reclaimCredit() bool {
	some := false
	for _, ps := range *p.parts.Load() {
		for _, pt := range ps {
			if pt == nil {
				continue
			}
			pt.mu.Lock()
			some = some || pt.credRecords > 0 || pt.credBytes > 0
			pt.giveCredit() // unlocks mu
		}
	}
	return some
}

// existing returns the batcher of a partition if it has one.
func (p *Producer) existing(topicName string, partition int32) *part {
	if ps := (*p.parts.Load())[topicName]; int(partition) < len(ps) {
		return ps[partition]
	}
	return nil
}

// part returns the batcher of a partition, starting its sender. The
// caller holds buffer room, so Close is not yet waiting for the senders.
func (p *Producer) part(topicName string, partition int32) *part {
	if pt := p.existing(topicName, partition); pt != nil {
		return pt
	}
	p.partsMu.Lock()
	defer p.partsMu.Unlock()
	old := *p.parts.Load()
	if ps := old[topicName]; int(partition) < len(ps) && ps[partition] != nil {
		return ps[partition]
	}
	ps := make([]*part, max(int(partition)+1, len(old[topicName])))
	copy(ps, old[topicName])
	pt := newPart(p, topicPartition{topicName, partition})
	ps[partition] = pt
	m := make(map[string][]*part, len(old)+1)
	for t, tps := range old {
		m[t] = tps
	}
	m[topicName] = ps
	p.parts.Store(&m)
	p.wg.Add(1)
	go pt.run()
	return pt
}

// ProduceSync appends recs and waits for all of them, sending their
// batches at once rather than waiting out the linger. Results are in the
// order of recs.
func (p *Producer) ProduceSync(ctx context.Context, recs ...*Record) Results {
	p.flushing.Add(1)
	defer p.flushing.Add(-1)
	res := make(Results, len(recs))
	var wg sync.WaitGroup
	wg.Add(len(recs))
	for i, r := range recs {
		p.Produce(ctx, r, func(r *Record, err error) {
			res[i] = Result{Record: r, Err: err}
			wg.Done()
		})
	}
	p.wakeAll() // batches that were lingering before this call
	wg.Wait()
	return res
}

// Flush sends every buffered record at once and waits until the records
// whose Produce returned before Flush was called are appended or failed,
// or ctx is done. Records produced meanwhile are sent at once too, but not
// waited for: as Kafka's flush, it returns under a steady stream of
// Produce calls from other goroutines (it used to wait for an empty
// buffer, which such a stream never leaves).
func (p *Producer) Flush(ctx context.Context) error {
	p.flushing.Add(1)
	defer p.flushing.Add(-1)
	type target struct {
		pt *part
		n  int64
	}
	var targets []target
	for _, ps := range *p.parts.Load() {
		for _, pt := range ps {
			if pt == nil {
				continue
			}
			pt.mu.Lock()
			n := pt.added
			pt.mu.Unlock()
			if pt.done.Load() < n {
				targets = append(targets, target{pt, n})
			}
		}
	}
	p.wakeAll()
	return p.buf.waitUntil(ctx, func() bool {
		for _, t := range targets {
			if t.pt.done.Load() < t.n {
				return false
			}
		}
		return true
	})
}

func (p *Producer) wakeAll() {
	for _, ps := range *p.parts.Load() {
		for _, pt := range ps {
			if pt != nil {
				pt.wake()
			}
		}
	}
}

// Close sends what is buffered and waits for it, then stops the senders.
// If ctx ends first, records not yet appended fail with ErrClosed, a
// retry waiting out its backoff stops waiting, and appends in flight have
// their ctx cancelled: a Broker that honours it
// fails them, so Close returns even if the Broker's peer hangs, as Kafka's
// close(timeout) does. An append call that returns the ctx's error fails
// its records with ErrClosed; an AsyncBroker's wait that returns it fails
// them with that error (context.Canceled). Later
// Produce calls fail with ErrClosed. Close is idempotent: a Close while
// or after another runs waits for that one (or for its own ctx to end)
// and returns its result.
func (p *Producer) Close(ctx context.Context) (err error) {
	p.closeMu.Lock()
	if p.closing {
		p.closeMu.Unlock()
		select {
		case <-p.closed: // done already: its result, whatever ctx says
			return p.closeErr
		default:
		}
		select {
		case <-p.closed:
			return p.closeErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.closing = true
	p.closeMu.Unlock()
	defer func() {
		p.closeErr = err
		close(p.closed)
	}()
	p.buf.close()     // from here no record gets in
	p.flushing.Add(1) // never taken back: senders stop lingering
	p.wakeAll()
	err = p.buf.waitEmpty(ctx)
	if err != nil {
		// Senders now fail what they hold, and whatever a Produce that
		// got in before close still adds.
		p.abort.Store(true)
		p.stopAppends()
		p.wakeAll()
		_ = p.buf.waitEmpty(context.Background())
	}
	close(p.done)
	p.wg.Wait()
	p.stopAppends()
	close(p.flights) // the senders are gone; the buffer is empty, so the acker has nothing left
	<-p.ackerDone
	return err
}
