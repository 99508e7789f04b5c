package consumer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

// Record is a log record with its topic, partition and offset set.
type Record = log.Record

// ErrNotAssigned reports a Seek, Pause, Resume or Position on a partition
// the consumer does not consume.
var ErrNotAssigned = errors.New("cairn: partition not assigned")

// Broker is what a Consumer needs from a broker. *cairn.Broker implements
// it in-process.
type Broker interface {
	PartitionCount(topic string) (int, error)
	Fetch(ctx context.Context, topic string, partition int32, offset int64, maxBytes int) (partition.Fetch, error)
	Watermarks(topic string, partition int32) (logStart, highWatermark int64, err error)
	OffsetForTime(ctx context.Context, topic string, partition int32, t time.Time) (int64, bool, error)
	// Changed returns a channel closed at the partition's next append.
	Changed(topic string, partition int32) (<-chan struct{}, error)
}

// TopicPartition names a partition.
type TopicPartition = group.TopicPartition

// cursor is the consumer's position in one partition.
type cursor struct {
	tp       TopicPartition
	offset   int64
	start    Offset // where to go when !resolved
	resolved bool
	paused   bool
	explicit bool // assigned (Options.Partitions or the group), not a subscription
	// goneAt is when a fetch last found the partition gone (its topic
	// deleted, or a group assignment naming a partition that does not
	// exist); zero while it is not. An assigned partition is kept, but
	// fetched again only MetadataInterval later: fetched at every Poll,
	// its error made each Poll return at once, and a Poll loop spun a core.
	goneAt time.Time
	gen    uint64 // bumped by Seek: a fetch begun before it is discarded
	// topicID is the incarnation of the topic offset belongs to, if
	// idKnown (a Broker with TopicID): a fetch that finds another
	// incarnation (the topic was deleted and created again) starts over.
	topicID uint32
	idKnown bool
	// buf holds records a fetch decoded beyond MaxPollRecords, starting at
	// offset, so the next Poll does not read and decode them again; after
	// them the position is bufEnd.
	buf    []*Record
	bufEnd int64
	slab   *slab // holds buf's records
}

// Consumer reads records from assigned partitions, and from every
// partition of subscribed topics. Poll and Records may be called from one
// goroutine at a time; Seek, Pause, Resume, Position and Close from any.
// A Consumer owns no goroutines.
type Consumer struct {
	b    Broker
	opts Options

	pollMu sync.Mutex // one Poll at a time
	// Scratch slices reused by each Poll, under pollMu: a Poll that
	// waits used to allocate each of them.
	snap  []cursor          // fetchOnce's snapshot of the cursors
	chans []<-chan struct{} // fetchOnce's change channels
	// parked counts the partitions fetchOnce left out as gone (see
	// cursor.goneAt), so waitAny wakes to look at them again.
	parked int
	cases  []reflect.SelectCase // waitAny's

	gm *member // nil unless Options.Group is set

	// done ends with Close, cancelling a Poll blocked in a rebalance.
	done   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // CommitAsync's commits in flight (not their done calls)
	seeks  atomic.Uint64  // Seeks so far: Records checks its records' cursors only after one

	// mu guards the fields below.
	mu          sync.Mutex
	cursors     map[TopicPartition]*cursor
	order       []TopicPartition // fetch order, rotated each poll for fairness
	closed      bool
	noAsync     bool          // Close is past its commits: CommitAsync, Commit, Committed and Position fail
	asyncTail   chan struct{} // closed when the last CommitAsync's commit is done
	closeDone   chan struct{} // closed when the first Close is done; closeErr is its result
	closeErr    error
	lastRefresh time.Time
	wake        chan struct{} // closed and replaced by Seek, Resume and Close
}

// New returns a consumer of the topics and partitions in opts.
func New(b Broker, opts *Options) (*Consumer, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: consumer: nil broker", partition.ErrInvalidArgument)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.Topics = slices.Clone(o.Topics)
	c := &Consumer{b: b, opts: o, cursors: map[TopicPartition]*cursor{}, wake: make(chan struct{}),
		closeDone: make(chan struct{})}
	c.done, c.cancel = context.WithCancel(context.Background())
	if o.Group != "" {
		gb, ok := b.(GroupBroker)
		if !ok {
			c.cancel()
			return nil, fmt.Errorf("%w: consumer: broker %T has no group coordinator", partition.ErrInvalidArgument, b)
		}
		c.gm = newMember(c, gb)
		go c.gm.heartbeats()
		return c, nil // partitions come from the group's assignment
	}
	for t, parts := range o.Partitions {
		for _, p := range parts {
			c.addCursor(TopicPartition{Topic: t, Partition: p}, true)
		}
	}
	c.refresh(true)
	return c, nil
}

// addCursor starts consuming tp at the start position; mu is held.
func (c *Consumer) addCursor(tp TopicPartition, explicit bool) {
	if cur, ok := c.cursors[tp]; ok {
		cur.explicit = cur.explicit || explicit
		return
	}
	c.cursors[tp] = &cursor{tp: tp, start: c.opts.Start, explicit: explicit}
	c.order = append(c.order, tp)
}

// refresh adds the partitions of subscribed topics, at most every
// MetadataInterval unless forced.
func (c *Consumer) refresh(force bool) {
	if c.gm != nil {
		c.gm.checkTopics()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.opts.Topics) == 0 || !force && time.Since(c.lastRefresh) < c.opts.MetadataInterval {
		return
	}
	c.lastRefresh = time.Now()
	for _, t := range c.opts.Topics {
		n, err := c.b.PartitionCount(t)
		if err != nil {
			continue // not created yet, or deleted: checked again later
		}
		for p := int32(0); p < int32(n); p++ {
			c.addCursor(TopicPartition{Topic: t, Partition: p}, false)
		}
	}
}

// Fetches is what one Poll returns: records in per-partition order, and the
// partitions that failed. The records are the caller's to keep, unless it
// hands their memory back with Recycle.
type Fetches struct {
	Records []*Record
	Errors  []*FetchError

	gens []partGen // cursor generations after the poll, one per partition
	mem  *fetchMem // pooled memory of Records, for Recycle
}

// partGen is a partition's cursor generation after a Poll.
type partGen struct {
	tp  TopicPartition
	gen uint64
}

// gen returns the cursor generation of tp after the Poll (0 if the Poll
// returned nothing from it). A Poll spans few partitions, so a slice
// searched in order beats a map, which Poll allocated every time.
func (f *Fetches) gen(tp TopicPartition) uint64 {
	for _, g := range f.gens {
		if g.tp == tp {
			return g.gen
		}
	}
	return 0
}

// Err joins the partition errors, or is nil.
func (f Fetches) Err() error {
	errs := make([]error, len(f.Errors))
	for i, e := range f.Errors {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Poll returns the next records from the consumer's partitions, waiting
// until there is at least one record or partition error, or ctx is done
// (then it returns ctx's error). Each record is returned once, in offset
// order per partition, unless the user seeks back.
func (c *Consumer) Poll(ctx context.Context) (Fetches, error) {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if c.gm != nil {
		// Close interrupts a rebalance. Without a group, Close wakes a
		// waiting Poll through c.wake, and nothing else blocks.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(c.done, cancel)
		defer stop()
		c.gm.polled()
		defer c.gm.pollDone()
		c.maybeAutoCommit(ctx)
	}
	for {
		if err := c.check(ctx); err != nil {
			return Fetches{}, err
		}
		if c.gm != nil {
			if err := c.gm.fencedErr(); err != nil {
				c.gm.dropLost(ctx) // OnLost, once: the partitions are another's now
				return Fetches{}, err
			}
		}
		if c.gm != nil && c.gm.needsJoin() {
			if err := c.gm.join(ctx); err != nil {
				if ferr := c.gm.fencedErr(); ferr != nil {
					c.gm.dropLost(ctx)
					return Fetches{}, ferr
				}
				if cerr := c.check(ctx); cerr != nil {
					return Fetches{}, cerr
				}
				return Fetches{}, err
			}
		}
		c.refresh(false)
		f, wait, wake := c.fetchOnce(ctx)
		if len(f.Records) > 0 || len(f.Errors) > 0 {
			return f, nil
		}
		if err := c.waitAny(ctx, wait, wake); err != nil {
			if cerr := c.check(context.Background()); cerr != nil {
				return Fetches{}, cerr // Close cancelled ctx: say so
			}
			return Fetches{}, err
		}
	}
}

func (c *Consumer) check(ctx context.Context) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return partition.ErrClosed
	}
	return ctx.Err()
}

// waitAny blocks until a partition changes, the consumer is woken, the
// metadata interval passes (with subscriptions), or ctx is done.
func (c *Consumer) waitAny(ctx context.Context, chans []<-chan struct{}, wake chan struct{}) error {
	var tick <-chan time.Time
	if len(c.opts.Topics) > 0 || c.gm != nil || c.parked > 0 {
		t := time.NewTimer(c.opts.MetadataInterval)
		defer t.Stop()
		tick = t.C
	}
	if len(chans) <= 1 {
		// One partition (or none): a plain select, which allocates
		// nothing, where reflect.Select allocates on every wait. A nil
		// channel never fires.
		var part <-chan struct{}
		if len(chans) == 1 {
			part = chans[0]
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-tick:
		case <-part:
		}
		return nil
	}
	cases := slices.Grow(c.cases[:0], len(chans)+3)
	defer func() { clear(cases); c.cases = cases[:0] }() // keep no channel alive
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(wake)})
	if tick != nil {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(tick)})
	}
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	if chosen, _, _ := reflect.Select(cases); chosen == 0 {
		return ctx.Err()
	}
	return nil
}

// Records iterates over records as Poll returns them, until ctx is done
// or the consumer closes; that last error, and partition errors, are
// yielded with a nil record, a Poll's errors before its records. Breaking
// out of the loop is fine, at a record or at an error: the records a Poll
// returned that the loop did not take come again with the next Poll. A
// Seek in the loop takes effect at once: the records a Poll returned from
// that partition that the loop has not taken yet are dropped, and its next
// record is the one Seek moved to.
func (c *Consumer) Records(ctx context.Context) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		for {
			seeks := c.seeks.Load()
			f, err := c.Poll(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range f.Errors {
				if !yield(nil, e) {
					c.rewind(f, f.Records) // the Poll's records were not yielded
					return
				}
			}
			for i, r := range f.Records {
				if c.seeks.Load() != seeks && c.movedSince(&f, r) {
					continue // a Seek since the Poll: r is not at the position
				}
				if !yield(r, nil) {
					c.rewind(f, f.Records[i+1:])
					return
				}
			}
		}
	}
}

// movedSince reports whether a Seek moved r's partition after the Poll
// that returned f.
func (c *Consumer) movedSince(f *Fetches, r *Record) bool {
	tp := TopicPartition{Topic: r.Topic, Partition: r.Partition}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.cursors[tp]
	return ok && cur.gen != f.gen(tp)
}

// rewind moves cursors back to the first of rest, records a Poll returned
// that the user did not take, unless a Seek moved them since.
func (c *Consumer) rewind(f Fetches, rest []*Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	done := map[TopicPartition]bool{}
	for _, r := range rest {
		tp := TopicPartition{Topic: r.Topic, Partition: r.Partition}
		if done[tp] {
			continue
		}
		done[tp] = true
		if cur, ok := c.cursors[tp]; ok && cur.gen == f.gen(tp) {
			cur.offset, cur.resolved, cur.buf, cur.slab = r.Offset, true, nil, nil
		}
	}
}

// Seek moves a partition's position; the next Poll reads from there. A
// Seek to an offset (At) is the position at once, as Kafka's seek:
// Position returns it, and commits of positions (auto-commit, before a
// revoke, on Close) commit it; a negative one is refused.
func (c *Consumer) Seek(topicName string, p int32, to Offset) error {
	if to.kind == 2 && to.at < 0 {
		return fmt.Errorf("%w: consumer: seek to negative offset %d", partition.ErrInvalidArgument, to.at)
	}
	return c.update(topicName, []int32{p}, func(cur *cursor) {
		cur.start, cur.resolved, cur.buf, cur.slab = to, false, nil, nil
		if to.kind == 2 {
			cur.offset, cur.resolved = to.at, true
		}
		cur.idKnown = false      // the position is in the topic as it is now
		cur.goneAt = time.Time{} // and is looked for at once
		cur.gen++
		c.seeks.Add(1)
	})
}

// Pause stops fetching the given partitions until Resume; their positions
// are kept.
func (c *Consumer) Pause(topicName string, partitions ...int32) error {
	return c.update(topicName, partitions, func(cur *cursor) { cur.paused = true })
}

// Resume undoes Pause.
func (c *Consumer) Resume(topicName string, partitions ...int32) error {
	return c.update(topicName, partitions, func(cur *cursor) { cur.paused = false })
}

// update applies f to the cursors of partitions if all are assigned, then
// wakes a waiting Poll.
func (c *Consumer) update(topicName string, partitions []int32, f func(*cursor)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return partition.ErrClosed
	}
	curs := make([]*cursor, len(partitions))
	for i, p := range partitions {
		cur, ok := c.cursors[TopicPartition{Topic: topicName, Partition: p}]
		if !ok {
			return fmt.Errorf("%w: %s/%d", ErrNotAssigned, topicName, p)
		}
		curs[i] = cur
	}
	for _, cur := range curs {
		f(cur)
	}
	c.wakeLocked()
	return nil
}

func (c *Consumer) wakeLocked() {
	close(c.wake)
	c.wake = make(chan struct{})
}

// Position returns the offset of the next record Poll returns for a
// partition, resolving its start position if needed.
func (c *Consumer) Position(ctx context.Context, topicName string, p int32) (int64, error) {
	c.mu.Lock()
	if c.noAsync { // Close is done (its OnRevoked may still ask)
		c.mu.Unlock()
		return 0, partition.ErrClosed
	}
	cur, ok := c.cursors[TopicPartition{Topic: topicName, Partition: p}]
	if !ok {
		c.mu.Unlock()
		return 0, fmt.Errorf("%w: %s/%d", ErrNotAssigned, topicName, p)
	}
	snap := *cur
	c.mu.Unlock()
	if snap.resolved {
		return snap.offset, nil
	}
	off, err := c.resolve(ctx, snap.tp, snap.start)
	if err != nil {
		return 0, err
	}
	if at, ok := c.settle(&snap, off); ok {
		return at, nil // a Poll may have resolved it first
	}
	return off, nil // a Seek since: what was asked for, resolved
}

// Assignment returns the partitions the consumer reads, sorted.
func (c *Consumer) Assignment() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.order)
	slices.SortFunc(out, TopicPartition.Compare)
	return out
}

// Close ends the consumer: a waiting Poll returns ErrClosed, as do later
// calls. Close is idempotent: a Close while or after another waits for
// that one and returns its result. Close waits for CommitAsync's commits
// in flight, not for their done calls, which may call Close. OnAssigned,
// OnRevoked and OnLost must not call Close: they run in a Poll (or in
// Close), which Close waits for, so it would wait for itself.
//
// In a group, Close first commits positions (with auto-commit), calls
// OnRevoked and leaves the group, so the partitions move at once; a static
// member (InstanceID) does not leave, and keeps its partitions if it comes
// back within the session timeout. If that commit fails, Close still
// revokes and leaves, and returns the commit's error: the records since
// the last commit will be read again by the partitions' next owner (a
// partition of a topic deleted meanwhile fails alone: the others' positions
// are still committed).
// Partitions the group already took away (the member was fenced, or
// dropped for not polling) go to OnLost instead, with nothing committed.
func (c *Consumer) Close() (err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.closeDone
		return c.closeErr
	}
	answered := false
	answer := func() {
		if !answered {
			answered = true
			c.closeErr = err
			close(c.closeDone)
		}
	}
	defer answer() // even if a callback panics
	c.closed = true
	c.wakeLocked()
	c.mu.Unlock()
	c.cancel()
	c.pollMu.Lock() // wait for a Poll in flight
	defer c.pollMu.Unlock()
	if c.gm != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.SessionTimeout)
		defer cancel()
		err = c.gm.leave(ctx)
	}
	// Refuse CommitAsync before answering: a later Close returns then, and
	// a CommitAsync after it must not commit.
	c.mu.Lock()
	c.noAsync = true // see CommitAsync
	c.mu.Unlock()
	// The result is known: later Closes have it now, not once the
	// commits in flight are done.
	answer()
	c.wg.Wait()
	return err
}

// isGone reports errors after which a subscribed partition is dropped.
func isGone(err error) bool {
	return errors.Is(err, topic.ErrUnknownTopic) || errors.Is(err, topic.ErrUnknownPartition) ||
		errors.Is(err, partition.ErrClosed)
}

// OffsetsForTimes returns, for each partition, the offset of the first
// record whose timestamp is at or after the given time, as Kafka's
// offsetsForTimes; a partition with no such record maps to -1. Lookups use
// each partition's time index, not a scan. After Close it fails with
// ErrClosed, as Kafka's offsetsForTimes on a closed consumer.
func (c *Consumer) OffsetsForTimes(ctx context.Context, times map[TopicPartition]time.Time) (map[TopicPartition]int64, error) {
	c.mu.Lock()
	closed := c.noAsync // as Position: Close is done (its OnRevoked may still ask)
	c.mu.Unlock()
	if closed {
		return nil, partition.ErrClosed
	}
	out := make(map[TopicPartition]int64, len(times))
	for tp, t := range times {
		off, ok, err := c.b.OffsetForTime(ctx, tp.Topic, tp.Partition, t)
		if err != nil {
			return nil, &FetchError{Topic: tp.Topic, Partition: tp.Partition, Err: err}
		}
		if !ok {
			off = -1
		}
		out[tp] = off
	}
	return out, nil
}
