package producer

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/partition"
)

// buffer bounds the bytes and records a producer holds. Both counts live
// in one atomic word (records in the low recordBits bits, bytes above),
// so a Produce that fits takes room with a single atomic add and no lock:
// with eight goroutines producing, every atomic on a shared word is a
// cache-line transfer between cores. Only a Produce that must wait takes
// mu, and waits on a channel that release closes and replaces while
// anyone waits.
//
// The buffer also tells Close when every record that got in is done: a
// Produce takes room before it checks closed, so once Close has set
// closed and seen the buffer empty, no record can still be on its way to
// a sender.
type buffer struct {
	maxBytes, maxRecords int64
	failFast             bool

	used    atomic.Uint64 // bytes<<recordBits | records
	closed  atomic.Bool
	waiters atomic.Int32 // goroutines in the slow path of acquire or waitEmpty
	// blocked counts the acquires waiting for room; while any does,
	// batches do not linger (as Kafka's accumulator, whose batches are
	// sendable while a send waits for memory): onBlock wakes the senders
	// when one starts waiting.
	blocked atomic.Int32
	onBlock func()
	// reclaim takes back the room partitions took ahead (see extra) and
	// reports whether there was any: a Produce that finds the buffer full
	// calls it before it fails fast or waits, as that room may be idle.
	reclaim func() bool

	mu      sync.Mutex // guards changed
	changed chan struct{}
}

const (
	recordBits = 24
	recordMask = 1<<recordBits - 1
	// maxBufferedRecords and maxBufferedBytes are the largest bounds
	// Options.Validate accepts: half of what each field of the packed word
	// holds, as attempts that fail count themselves in for a moment (see
	// tryAcquire), so a full buffer's count must not carry into the next
	// field.
	maxBufferedRecords = recordMask >> 1
	maxBufferedBytes   = (1<<(64-recordBits) - 1) >> 1
)

func (b *buffer) init(maxBytes, maxRecords int, failFast bool) {
	b.maxBytes, b.maxRecords, b.failFast = int64(maxBytes), int64(maxRecords), failFast
	b.changed = make(chan struct{})
}

func pack(size, records int) uint64 { return uint64(size)<<recordBits | uint64(records) }

func (b *buffer) records() int64 { return int64(b.used.Load() & recordMask) }

// tryAcquire takes room for one record of size bytes if there is room. A
// record larger than the whole buffer is let in alone, so it cannot wait
// forever.
func (b *buffer) tryAcquire(size int) bool {
	u := b.used.Add(pack(size, 1))
	r, n := int64(u&recordMask), int64(u>>recordBits)
	if r == 1 || r <= b.maxRecords && n <= b.maxBytes {
		return true
	}
	// Not taken after all. This gives the room back without waking
	// acquire's waiters: waking them here made every failed attempt wake
	// all the others, which failed in turn, a storm that burned a core
	// while eight goroutines produced into a full buffer. A waiter that
	// this attempt's passing count crowded out is woken by the next
	// release of a sent batch, or else by its recheck timer. But when
	// this empties the buffer (the last release came while the attempt
	// was counted), waitEmpty's waiters are woken: Flush and Close wait
	// for exactly that, and have no timer.
	b.giveBack(size)
	return false
}

// extra takes, if the buffer has it to spare, room for up to
// creditRecords more records of about size bytes each, for a partition
// whose queue is not empty to hand out without an atomic per record (see
// part.credBytes). It never waits, and it leaves alone a buffer fuller
// than half or one anyone waits for room in. Room taken ahead by a
// partition that is not draining (lingering, or behind a slow broker)
// would sit idle, so a Produce that finds the buffer full takes it all
// back (reclaim) before it fails fast or waits. It returns the bytes and
// records taken, both zero if none.
func (b *buffer) extra(size int) (int, int) {
	recs := min(int64(creditRecords), b.maxRecords/creditShare)
	if recs < 2 || b.waiters.Load() > 0 {
		return 0, 0
	}
	bytes := recs * int64(size)
	if bytes > b.maxBytes/creditShare {
		return 0, 0
	}
	u := b.used.Load()
	if r, n := int64(u&recordMask), int64(u>>recordBits); 2*(r+recs) > b.maxRecords || 2*(n+bytes) > b.maxBytes {
		return 0, 0
	}
	if u = b.used.Add(pack(int(bytes), int(recs))); int64(u&recordMask) > b.maxRecords || int64(u>>recordBits) > b.maxBytes {
		b.release(int(bytes), int(recs)) // another took the room meanwhile
		return 0, 0
	}
	return int(bytes), int(recs)
}

const (
	// creditRecords is the most records' room a partition takes ahead.
	creditRecords = 64
	// creditShare: a partition takes ahead at most 1/creditShare of the
	// buffer's bounds.
	creditShare = 32
)

// giveBack undoes a failed attempt's count (see tryAcquire).
func (b *buffer) giveBack(size int) {
	if b.used.Add(-pack(size, 1))&recordMask == 0 && b.waiters.Load() > 0 {
		b.broadcast()
	}
}

// recheck is how often a waiter looks again without being woken: only a
// waiter crowded out by another's failed attempt (see tryAcquire), with
// no batch in flight to wake it, needs it.
const recheck = 10 * time.Millisecond

// acquire reserves room for one record of size bytes, waiting while the
// buffer is full until ctx is done (or failing at once with FailFast). It
// fails with ErrClosed once close was called, and then takes no room.
func (b *buffer) acquire(ctx context.Context, size int) error {
	if ok, err := b.take(size); ok || err != nil {
		return err
	}
	if b.reclaim != nil && b.reclaim() {
		if ok, err := b.take(size); ok || err != nil {
			return err
		}
	}
	if b.failFast {
		return ErrBufferFull
	}
	b.waiters.Add(1)
	defer b.waiters.Add(-1)
	b.blocked.Add(1)
	defer b.blocked.Add(-1)
	if b.onBlock != nil {
		b.onBlock()
	}
	timer := time.NewTimer(recheck)
	defer timer.Stop()
	for {
		// Take the channel before looking again: a release after the
		// look closes this channel, as waiters is already counted.
		b.mu.Lock()
		ch := b.changed
		b.mu.Unlock()
		if ok, err := b.take(size); ok || err != nil {
			return err
		}
		select {
		case <-ch:
		case <-timer.C:
			timer.Reset(recheck)
			if b.reclaim != nil {
				b.reclaim() // taken ahead while this waiter was starting
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take is tryAcquire that fails with ErrClosed once close was called.
// Closed is checked after taking room, not before: see the type's comment.
func (b *buffer) take(size int) (bool, error) {
	ok := b.tryAcquire(size)
	if b.closed.Load() {
		if ok {
			b.release(size, 1)
		}
		return false, partition.ErrClosed
	}
	return ok, nil
}

// release gives back room for records records of size bytes in all.
func (b *buffer) release(size, records int) {
	b.used.Add(-pack(size, records))
	if b.waiters.Load() > 0 {
		b.broadcast()
	}
}

func (b *buffer) broadcast() {
	b.mu.Lock()
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// waitUntil blocks until done reports true or ctx is done. done is
// checked again whenever room is released (after the records it frees
// are finished).
func (b *buffer) waitUntil(ctx context.Context, done func() bool) error {
	b.waiters.Add(1)
	defer b.waiters.Add(-1)
	for {
		b.mu.Lock()
		ch := b.changed
		b.mu.Unlock()
		if done() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitEmpty blocks until nothing is buffered or ctx is done.
func (b *buffer) waitEmpty(ctx context.Context) error {
	return b.waitUntil(ctx, func() bool { return b.records() == 0 })
}

// close makes acquire fail with ErrClosed and wakes its waiters.
func (b *buffer) close() {
	b.closed.Store(true)
	b.broadcast()
}
