package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/partition"
)

// Commit commits offsets for the consumer's group (the offset is the next
// one to consume, as in Kafka), with optional metadata. Commits are fenced:
// after a rebalance took a partition away, or the group dropped this
// member, the commit fails with group.ErrIllegalGeneration,
// group.ErrUnknownMemberID or group.ErrNotAssigned (the group's sentinel,
// not this package's ErrNotAssigned, which Seek and Pause return) and
// changes nothing. A Commit lands after the
// CommitAsync calls made before it, as in Kafka: it waits for them.
func (c *Consumer) Commit(ctx context.Context, offsets map[TopicPartition]group.Committed) error {
	if c.gm == nil {
		return errNoGroup
	}
	c.mu.Lock()
	tail, closed := c.asyncTail, c.noAsync
	c.mu.Unlock()
	if closed {
		return partition.ErrClosed // Close has committed: see CommitAsync
	}
	if tail != nil {
		select {
		case <-tail:
		default: // in flight: wait, unless ctx ends first
			select {
			case <-tail:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return c.commit(ctx, offsets)
}

// commit is Commit without waiting for CommitAsync's commits.
func (c *Consumer) commit(ctx context.Context, offsets map[TopicPartition]group.Committed) error {
	id, gen := c.gm.identity()
	if id == "" {
		return fmt.Errorf("%w: not a member of group %q now", group.ErrUnknownMemberID, c.opts.Group)
	}
	if gen < 0 {
		// Not joined yet, or its partitions were lost: refused here, as
		// Kafka's client does. Generation -1 is a commit outside group
		// management, which a group without members takes whatever the
		// member id: a zombie's would overwrite the group's offsets.
		return fmt.Errorf("%w: no current generation in group %q", group.ErrIllegalGeneration, c.opts.Group)
	}
	return c.gm.api.CommitOffsets(ctx, group.CommitRequest{Group: c.opts.Group, MemberID: id,
		InstanceID: c.opts.InstanceID, Generation: gen, Offsets: offsets})
}

// CommitRecords commits, per partition, the offset after the last of recs.
func (c *Consumer) CommitRecords(ctx context.Context, recs ...*Record) error {
	offsets := map[TopicPartition]group.Committed{}
	for _, r := range recs {
		if r == nil {
			return fmt.Errorf("%w: consumer: commit of a nil record", partition.ErrInvalidArgument)
		}
		tp := TopicPartition{Topic: r.Topic, Partition: r.Partition}
		if cur, ok := offsets[tp]; !ok || r.Offset+1 > cur.Offset {
			offsets[tp] = group.Committed{Offset: r.Offset + 1}
		}
	}
	return c.Commit(ctx, offsets)
}

// CommitAsync commits in the background and calls done (if not nil) with
// the outcome, on another goroutine. Close waits for the commits in
// flight, not for their done calls: a done may call Close (one that Close
// waited for would wait for itself), and may run after Close returns.
// Once Close waits for the commits in flight, done gets ErrClosed (an
// OnRevoked that Close calls may still commit), as Kafka's commitAsync on a
// closed consumer fails. Commits are made in the order of the calls, as
// Kafka's: a later commit is never overwritten by an earlier one.
func (c *Consumer) CommitAsync(offsets map[TopicPartition]group.Committed, done func(error)) {
	// Add under mu, as Close sets noAsync before it waits: an Add from
	// zero while Close waits is a WaitGroup misuse, and a commit Close
	// would not wait for.
	c.mu.Lock()
	closed := c.noAsync
	var prev, mine chan struct{}
	if !closed {
		c.wg.Add(1)
		prev, mine = c.asyncTail, make(chan struct{})
		c.asyncTail = mine
	}
	c.mu.Unlock()
	if closed {
		if done != nil {
			go done(partition.ErrClosed)
		}
		return
	}
	go func() {
		if prev != nil {
			<-prev // the commit before this one is done
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.SessionTimeout)
		err := errNoGroup
		if c.gm != nil {
			err = c.commit(ctx, offsets)
		}
		cancel()
		close(mine)
		c.wg.Done()
		if done != nil {
			done(err)
		}
	}()
}

// Committed returns the group's committed offsets for partitions (all of
// them when none are named).
func (c *Consumer) Committed(ctx context.Context, tps ...TopicPartition) (map[TopicPartition]group.Committed, error) {
	if c.gm == nil {
		return nil, errNoGroup
	}
	c.mu.Lock()
	closed := c.noAsync
	c.mu.Unlock()
	if closed {
		return nil, partition.ErrClosed
	}
	return c.gm.api.FetchOffsets(ctx, c.opts.Group, tps...)
}

// commitPositions commits the current positions of tps: offsets after the
// records Poll has already returned.
func (c *Consumer) commitPositions(ctx context.Context, tps []TopicPartition) error {
	offsets := map[TopicPartition]group.Committed{}
	var ids map[TopicPartition]uint32 // incarnations the positions belong to
	c.mu.Lock()
	for _, tp := range tps {
		if cur, ok := c.cursors[tp]; ok && cur.resolved {
			offsets[tp] = group.Committed{Offset: cur.offset}
			if cur.idKnown {
				if ids == nil {
					ids = map[TopicPartition]uint32{}
				}
				ids[tp] = cur.topicID
			}
		}
	}
	c.mu.Unlock()
	if ider, ok := c.b.(topicIDer); ok {
		// A position in a topic deleted and created again since is not
		// a position in the new one, which the next fetch restarts
		// from Start: committed, it would skip the new topic's first
		// records for whoever reads the partition from the group's
		// commits (DeleteTopic forgot the old topic's).
		for tp, id := range ids {
			if now, err := ider.TopicID(tp.Topic); err == nil && now != id {
				delete(offsets, tp)
			}
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	return c.Commit(ctx, offsets)
}

// maybeAutoCommit commits, at the start of a Poll, the positions reached
// by earlier polls: the user has processed those records by now.
func (c *Consumer) maybeAutoCommit(ctx context.Context) {
	if !c.opts.autoCommit() || time.Since(c.gm.lastCommit) < c.opts.AutoCommitInterval {
		return
	}
	c.gm.lastCommit = time.Now()
	c.gm.mu.Lock()
	owned := c.gm.owned
	c.gm.mu.Unlock()
	_ = c.commitPositions(ctx, owned)
}
