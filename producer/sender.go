package producer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

type pending struct {
	rec     *Record
	promise func(*Record, error)
	size    int
}

// part batches one partition's records; its run goroutine starts their
// appends in order and owns the partition's sequence numbers, and the
// producer's acker goroutine completes them (see flight).
type part struct {
	p  *Producer
	tp topicPartition

	// The pending records are q[head:]. Produce appends to q; the sender
	// copies a batch out of the front and moves head. The array is reused
	// from batch to batch: no allocation per batch once it has grown to
	// the most that is ever pending.
	mu      sync.Mutex
	q       []pending
	head    int
	bytes   int
	firstAt time.Time // when the oldest pending record arrived
	// credBytes and credRecords are buffer room the partition took ahead
	// (buffer.extra) while its queue is not empty: Produce takes a
	// record's room from them under mu, without the buffer's atomic, one
	// of the three atomic instructions a Produce cost (15-18 ns each on
	// our 2-core VM). They go back to the buffer when next empties the
	// queue, so room is held ahead only for records on their way, and a
	// drained producer's buffer is empty, as Close and Flush expect.
	credBytes, credRecords int

	wakeCh chan struct{} // cap 1: a pending wake-up

	// slots holds a token for each of the partition's batches between the
	// start of its append and its completion by the acker: at most
	// Options.MaxInFlight, Kafka's max.in.flight.requests.
	slots chan struct{}
	// spares are emptied batch slices the acker gave back, for next to
	// copy batches into (guarded by mu).
	spares [][]pending

	// added (guarded by mu: no atomic per record) and done count the
	// partition's records added to q and finished (appended or failed, in
	// order): Flush waits for done to reach what added was when it was
	// called.
	added int64
	done  atomic.Int64

	// Owned by run.
	seqOf log.Producer // the identity (id and epoch) seq belongs to
	seq   int32
	// renew says the next batch needs a new producer identity first: an
	// append under seq ended without telling whether it was stored, so
	// seq can neither be reused nor skipped.
	renew   bool
	builder log.Builder // encodes batches, reusing its buffers
	// builderCap is builder.Cap() as counted in the producer's
	// builderBytes.
	builderCap int
}

func newPart(p *Producer, tp topicPartition) *part {
	return &part{p: p, tp: tp, wakeCh: make(chan struct{}, 1), seqOf: log.Producer{ID: -1},
		slots: make(chan struct{}, p.opts.MaxInFlight)}
}

func (pt *part) wake() {
	select {
	case pt.wakeCh <- struct{}{}:
	default:
	}
}

// add queues r, whose room the caller took, with room for later records
// taken ahead (see credBytes).
func (pt *part) add(r pending, credBytes, credRecords int) {
	pt.mu.Lock()
	pt.credBytes += credBytes
	pt.credRecords += credRecords
	pt.addLocked(r)
}

// addCredited queues r with room the partition took ahead, if it has
// enough; it reports whether it did.
func (pt *part) addCredited(r pending) bool {
	pt.mu.Lock()
	if pt.credRecords == 0 || pt.credBytes < r.size {
		pt.mu.Unlock()
		return false
	}
	pt.credRecords--
	pt.credBytes -= r.size
	pt.addLocked(r)
	return true
}

// addLocked queues r and unlocks mu.
func (pt *part) addLocked(r pending) {
	first := pt.head == len(pt.q)
	if first && pt.p.opts.Linger > 0 { // the clock is read only for a linger
		pt.firstAt = time.Now()
	}
	if len(pt.q) == cap(pt.q) {
		pt.grow()
	}
	pt.q = append(pt.q, r)
	pt.added++
	pt.bytes += r.size
	full := pt.bytes >= pt.p.opts.BatchBytes
	pt.mu.Unlock()
	if first || full || pt.p.flushing.Load() > 0 || pt.p.opts.Linger > 0 && pt.p.buf.blocked.Load() > 0 {
		pt.wake()
	}
}

// next takes the records to send now, at most limit bytes of them (but
// at least one record), with their size in the buffer, or says how long
// the linger has left.
func (pt *part) next(limit int) (batch []pending, size int, wait time.Duration) {
	pt.mu.Lock()
	// Batches are copied out of the queue (below), so its front, every
	// entry of it cleared, can be reused.
	if pt.head == len(pt.q) {
		pt.q, pt.head = pt.q[:0], 0
		if c := cap(pt.q); c > maxIdleQueue && pt.p.queueCap.Load() > int64(4*pt.p.opts.MaxBufferedRecords) {
			pt.p.queueCap.Add(-int64(c))
			pt.q = nil
		}
		pt.giveCredit() // unlocks mu
		return nil, 0, 0
	}
	if pt.head >= cap(pt.q)/2 {
		// Produce outruns the sender, so the queue never empties: move
		// what is pending to the front (at most half the array, once per
		// half an array of records taken).
		n := copy(pt.q, pt.q[pt.head:])
		clear(pt.q[n:])
		pt.q, pt.head = pt.q[:n], 0
	}
	if pt.p.opts.Linger > 0 {
		if left := pt.p.opts.Linger - time.Since(pt.firstAt); left > 0 &&
			pt.bytes < pt.p.opts.BatchBytes && pt.p.flushing.Load() == 0 &&
			pt.p.buf.blocked.Load() == 0 && !pt.closing() {
			pt.mu.Unlock()
			return nil, 0, left
		}
		pt.firstAt = time.Now()
	}
	pend := pt.q[pt.head:]
	n := len(pend)
	if size = pt.bytes; size > limit && n > 1 {
		// Not all of it: count what fits. (All of it, the common case
		// when the sender keeps up, needs no walk under the lock.)
		n, size = 0, 0
		for n < len(pend) && (n == 0 || size+pend[n].size <= limit) {
			size += pend[n].size
			n++
		}
	}
	batch = pt.spare(n)
	taken := pend[:n:n]
	pt.head += n
	pt.bytes -= size
	if pt.head == len(pt.q) {
		pt.giveCredit() // unlocks mu
	} else {
		pt.mu.Unlock()
	}
	// The batch is copied out, so that the queue holds nothing a batch
	// still being appended (or waiting for the acker) points into; and
	// outside the lock, which Produce waits for: Produce only appends
	// past the taken entries (or copies the pending ones, not these, to
	// a new array), and only this goroutine moves or clears taken ones.
	copy(batch, taken)
	clear(taken)
	// The batch is closed: records arriving now start the next one. As
	// Kafka's sticky partitioner (KIP-480), keyless records move on to
	// another partition only now, so they fill the batch just sent;
	// moving when a batch's first record arrived sent every keyless
	// record that began a batch to a different partition from the next.
	if o, ok := pt.p.opts.Partitioner.(BatchObserver); ok {
		o.NewBatch(pt.tp.topic, pt.tp.partition)
	}
	return batch, size, 0
}

// giveCredit gives the room taken ahead back to the buffer, as the
// queue is empty, and unlocks mu.
func (pt *part) giveCredit() {
	bytes, recs := pt.credBytes, pt.credRecords
	pt.credBytes, pt.credRecords = 0, 0
	pt.mu.Unlock()
	if bytes > 0 || recs > 0 {
		pt.p.buf.release(bytes, recs)
	}
}

func (pt *part) closing() bool {
	select {
	case <-pt.p.done:
		return true
	default:
		return false
	}
}

// run sends batches until the producer closes and nothing is pending.
func (pt *part) run() {
	defer pt.p.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		// A batch stops at BatchBytes, unless an earlier batch of the
		// partition is still waiting to be durable (a broker that syncs):
		// then it takes what accumulated, up to MaxBatchBytes, so that
		// more records share each sync. Its slot is taken before it is
		// cut, so that it holds what arrives while all slots are taken.
		limit := pt.p.opts.BatchBytes
		if len(pt.slots) > 0 {
			limit = pt.p.opts.MaxBatchBytes
		}
		pt.slots <- struct{}{} // waits while MaxInFlight batches are appending
		batch, size, wait := pt.next(limit)
		if batch != nil {
			pt.deliver(batch, batch, size, true)
			continue
		}
		<-pt.slots
		if wait == 0 {
			pt.idle()
		}
		switch {
		case wait > 0:
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-pt.wakeCh:
				timer.Stop()
			case <-pt.p.done:
				timer.Stop()
			}
			continue
		case pt.closing():
			return
		}
		select {
		case <-pt.wakeCh:
		case <-pt.p.done:
		}
	}
}

// idle lets the builder's buffers go while the producer's builders hold
// more than MaxBufferedBytes: each grows to the largest batch it built, so
// a burst of large batches over many partitions otherwise stayed in
// memory, beyond the buffer's bound, for as long as the producer. Below
// the bound they are kept, so a partition that drains between batches
// does not allocate one per batch.
func (pt *part) idle() {
	if c := pt.builder.Cap(); c != pt.builderCap {
		pt.p.builderBytes.Add(int64(c - pt.builderCap))
		pt.builderCap = c
	}
	if pt.builderCap > 0 && pt.p.builderBytes.Load() > int64(pt.p.opts.MaxBufferedBytes) {
		pt.p.builderBytes.Add(-int64(pt.builderCap))
		pt.builder, pt.builderCap = log.Builder{}, 0
	}
}

// spare returns a slice of n records for a batch, reusing one the acker
// gave back. The caller holds mu.
func (pt *part) spare(n int) []pending {
	for len(pt.spares) > 0 {
		s := pt.spares[len(pt.spares)-1]
		pt.spares = pt.spares[:len(pt.spares)-1]
		if cap(s) >= n {
			return s[:n]
		}
	}
	return make([]pending, n)
}

// recycle gives an emptied batch slice back to next.
func (pt *part) recycle(batch []pending) {
	clear(batch) // drop the records and promises it points to
	pt.mu.Lock()
	if len(pt.spares) < cap(pt.slots)+1 {
		pt.spares = append(pt.spares, batch[:0])
	}
	pt.mu.Unlock()
}

// maxIdleQueue is the largest pending array (in records) a partition
// keeps while nothing is pending once the producer's arrays together hold
// more than four times MaxBufferedRecords: then a burst's array is let go.
// Below that bound arrays are kept, because one dropped whenever its
// partition runs dry grows again by doubling when the next burst comes,
// copying what is pending at each step.
const maxIdleQueue = 1 << 16

// grow makes room in a full queue. The caller holds mu. It copies only the
// pending records (what is before head was taken already) into a new
// array twice the old one when more than half of it is pending, else at
// least as large. Sized to twice the pending records alone, as it was, a
// full array half taken was replaced by one about as large, and one mostly
// taken by a smaller one, so Produce copied pending records over and over
// while the sender ran behind. In cmd/compare's 2M-record produce, before
// this sizing and the idle rule above, that was 0.58 copies per record
// produced on one partition and 0.75 on eight; with both, 0.05 and 0.55
// (on eight, each partition's array doubles from 64 to 131,072 entries in
// the first burst, when the buffer fills while Pebble's first memtables
// flush).
func (pt *part) grow() {
	pend := pt.q[pt.head:]
	n := max(2*len(pend), cap(pt.q), 64)
	if pt.head < cap(pt.q)/2 {
		n = 2 * cap(pt.q)
	}
	q := make([]pending, len(pend), n)
	copy(q, pend)
	pt.p.queueCap.Add(int64(n - cap(pt.q)))
	pt.q, pt.head = q, 0
}

// deliver starts the append of batch, of size bytes in the buffer,
// halving it while the topic refuses it as too large (its
// max.message.bytes is below the producer's batch size), and hands it to
// the acker, which completes its promises and frees its room once it is
// durable, with the error if it could not start. The caller holds a slot
// for it. owned is the slice batch was cut from; the last flight made
// from it (last) gives it back.
func (pt *part) deliver(owned, batch []pending, size int, last bool) {
	f := flight{pt: pt, recs: batch, size: size, base: -1}
	if last {
		f.owned = owned
	}
	if pt.p.abort.Load() {
		f.err = partition.ErrClosed
	} else {
		f.builtAt = time.Now() // the stamp of its records without one
		f.base, f.wait, f.err = pt.appendBatch(batch, size, f.builtAt)
		if f.err != nil && pt.p.abort.Load() && errors.Is(f.err, context.Canceled) {
			// Close's ctx ended during the append, or during the new
			// producer id it waited for.
			f.err = partition.ErrClosed
		}
		// Not split when an earlier attempt may have stored it whole
		// (renew is set again): its halves would be stored a second time.
		if errors.Is(f.err, partition.ErrMessageTooLarge) && len(batch) > 1 && !pt.renew {
			front, back := batch[:len(batch)/2], batch[len(batch)/2:]
			frontSize := sizeOf(front)
			pt.deliver(owned, front, frontSize, false) // in this slot
			pt.slots <- struct{}{}
			pt.deliver(owned, back, size-frontSize, last)
			return
		}
	}
	if f.wait == nil && len(pt.slots) == 1 {
		// Nothing to wait for (the broker does not sync, appended
		// synchronously, or the append failed) and no earlier batch of
		// this partition still with the acker (it frees a slot only once
		// done): complete here, without the hand-over.
		f.ack()
		return
	}
	pt.p.flights <- f
}

// flight is a batch whose append has started (or failed to), on its way
// to the acker.
type flight struct {
	pt      *part
	recs    []pending
	owned   []pending // to recycle once done; nil but on a batch's last flight
	size    int
	base    int64
	wait    func() error // nil: nothing to wait for
	err     error
	builtAt time.Time // the stamp of records without a timestamp
}

// ack runs on the producer's acker goroutine (or, with nothing to wait
// for, on the sender): it waits until the batch is durable, completes its
// promises and frees its room in the buffer.
// Flights arrive in the order their appends started, which is each
// partition's order, and with one WAL under the broker also the order
// they become durable.
func (f *flight) ack() {
	err := f.err
	if err == nil && f.wait != nil {
		err = f.wait()
	}
	f.pt.finish(f.recs, f.base, err, f.builtAt)
	f.pt.p.buf.release(f.size, len(f.recs))
	if f.owned != nil {
		f.pt.recycle(f.owned)
	}
	<-f.pt.slots // last: deliver completes a batch itself only once every earlier one is done
}

func (pt *part) finish(batch []pending, base int64, err error, builtAt time.Time) {
	for i, r := range batch {
		if err == nil {
			r.rec.Offset = base + int64(i)
			if r.rec.Timestamp.IsZero() {
				r.rec.Timestamp = builtAt // as encoded by appendBatch
			}
		}
		r.promise(r.rec, err)
	}
	pt.done.Add(int64(len(batch))) // before the room is released, which wakes Flush
}

// sizeOf returns the buffer size of records.
func sizeOf(records []pending) int {
	size := 0
	for _, r := range records {
		size += r.size
	}
	return size
}

// appendBatch encodes batch, of size bytes in the buffer (about its
// encoded size), with the next sequence and records without a timestamp
// stamped now, and appends it, retrying errors that may be transient. The
// same bytes are retried, so an append whose acknowledgement was lost is
// deduplicated by the broker.
//
// The sequence is kept in step with the partition's record of the
// producer, as Kafka's idempotent producer does (KIP-360): an append that
// ends without telling whether it was stored makes the next batch take a
// new identity (its sequence can be neither reused, which would have the
// broker answer a new batch with the stored one's offset, nor skipped);
// and a batch the partition refuses as out of order or duplicate (it
// forgot the producer: the topic was recreated, or the producer expired;
// or a batch counted as failed was stored) is sent again, once, under a
// new identity.
func (pt *part) appendBatch(batch []pending, size int, now time.Time) (base int64, wait func() error, err error) {
	if pt.renew {
		if err := pt.p.newIdentity(pt.p.appendCtx); err != nil {
			return 0, nil, err // renew stays set: the next batch tries again
		}
		pt.renew = false
	}
	prod := pt.identity()
	bl := &pt.builder
	bl.Reset()
	bl.Grow(size) // at most one allocation, not a doubling series
	for _, r := range batch {
		if err := bl.Add(r.rec, now); err != nil {
			return 0, nil, err
		}
	}
	b, err := bl.Finish(pt.p.opts.Compression, prod)
	if err != nil {
		return 0, nil, err
	}
	backoff := pt.p.opts.RetryBackoff
	resent := false
	// unsure says an attempt under prod ended without telling whether it
	// was stored: a later attempt refused (the topic's max.message.bytes
	// lowered meanwhile, say) does not unspend its sequence.
	unsure := false
	for attempt := 0; ; attempt++ {
		if pt.p.async != nil {
			base, wait, err = pt.p.async.AppendLogBatchAsync(pt.p.appendCtx, pt.tp.topic, pt.tp.partition, b)
		} else {
			base, err = pt.p.b.AppendLogBatch(pt.p.appendCtx, pt.tp.topic, pt.tp.partition, b)
		}
		if err == nil {
			if prod != nil {
				pt.seq = int32((int64(pt.seq) + int64(len(batch))) % (1 << 31))
			}
			return base, wait, nil
		}
		if prod != nil && !resent && !pt.p.abort.Load() &&
			(errors.Is(err, partition.ErrOutOfOrderSequence) || errors.Is(err, partition.ErrDuplicateSequence)) {
			if ierr := pt.p.newIdentity(pt.p.appendCtx); ierr != nil {
				return 0, nil, errors.Join(err, ierr) // refused, so not stored: seq stands
			}
			resent, unsure = true, false
			prod = pt.identity()
			if b, err = bl.Finish(pt.p.opts.Compression, prod); err != nil {
				return 0, nil, err
			}
			continue
		}
		retry := !permanent(err)
		if errors.Is(err, partition.ErrClosed) && !pt.p.abort.Load() {
			// The partition closed under the append: its broker closed,
			// or its topic was deleted (cairn.Broker finds the partition,
			// then appends). As Kafka's producer on
			// UNKNOWN_TOPIC_OR_PARTITION, look again: a topic created
			// again under the name takes the batch when retried (under a
			// new identity if it refuses the sequence, above); else the
			// batch fails with ErrUnknownTopic or ErrUnknownPartition,
			// not with ErrClosed, which says the producer closed.
			n, cerr := pt.p.b.PartitionCount(pt.tp.topic)
			if cerr != nil {
				err = cerr
			} else {
				err = &topic.UnknownPartitionError{Topic: pt.tp.topic, Partition: pt.tp.partition}
				retry = int(pt.tp.partition) < n
			}
		}
		if !refused(err) {
			unsure = true
		}
		if !retry || attempt >= pt.p.opts.Retries || pt.p.abort.Load() {
			if prod != nil && unsure {
				pt.renew = true // maybe stored: its sequence is spent
			}
			return 0, nil, err
		}
		// Cut short when Close's ctx ends (appendCtx with abort): the
		// next look at abort fails the batch.
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-pt.p.appendCtx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, time.Second)
	}
}

// identity returns the producer identity and sequence for the next batch,
// restarting the sequence at 0 when the identity (id or epoch) changed;
// nil without idempotence.
func (pt *part) identity() *log.Producer {
	id := pt.p.id.Load()
	if id == nil {
		return nil
	}
	if pt.seqOf.ID != id.ID || pt.seqOf.Epoch != id.Epoch {
		pt.seqOf, pt.seq = log.Producer{ID: id.ID, Epoch: id.Epoch}, 0
	}
	return &log.Producer{ID: id.ID, Epoch: id.Epoch, Sequence: pt.seq}
}

// refused reports errors that say the partition did not store the batch,
// so its sequence is still the next one.
func refused(err error) bool {
	for _, target := range []error{
		partition.ErrMessageTooLarge, partition.ErrInvalidArgument,
		partition.ErrOutOfOrderSequence, partition.ErrDuplicateSequence, partition.ErrProducerFenced,
		topic.ErrUnknownTopic, topic.ErrUnknownPartition,
		log.ErrCorruptBatch, log.ErrInvalidHeader, log.ErrEmptyBatch, log.ErrUnknownCodec,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// permanent reports errors a retry cannot fix.
func permanent(err error) bool {
	for _, target := range []error{
		partition.ErrClosed, partition.ErrMessageTooLarge, partition.ErrInvalidArgument,
		partition.ErrOutOfOrderSequence, partition.ErrDuplicateSequence, partition.ErrProducerFenced,
		partition.ErrCorruptStorage, topic.ErrUnknownTopic, topic.ErrUnknownPartition,
		log.ErrCorruptBatch, log.ErrInvalidHeader, log.ErrEmptyBatch, log.ErrUnknownCodec,
		context.Canceled, context.DeadlineExceeded,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
