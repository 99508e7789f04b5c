package consumer

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

// fetchOnce reads once from each unpaused partition, in rotating order,
// up to MaxPollRecords. It also returns the partitions' change channels,
// taken before reading, so a waiter misses no append.
func (c *Consumer) fetchOnce(ctx context.Context) (f Fetches, chans []<-chan struct{}, wake chan struct{}) {
	c.mu.Lock()
	wake = c.wake
	// The snapshot reuses one slice (Poll holds pollMu) and is cleared on
	// return, so it keeps no records alive.
	snap := slices.Grow(c.snap[:0], len(c.order))
	defer func() { clear(snap); c.snap = snap[:0] }()
	var now time.Time // read only if a partition is parked
	c.parked = 0
	for _, tp := range c.order {
		cur := c.cursors[tp]
		if cur.paused {
			continue
		}
		if !cur.goneAt.IsZero() {
			// Counted also when looked at now: if it is still gone, no
			// change channel wakes Poll for it, only waitAny's timer.
			c.parked++
			if now.IsZero() {
				now = time.Now()
			}
			if now.Sub(cur.goneAt) < c.opts.MetadataInterval {
				continue
			}
		}
		snap = append(snap, *cur)
	}
	if len(c.order) > 1 { // rotate so no partition starves the others
		c.order = append(c.order[1:], c.order[0])
	}
	c.mu.Unlock()

	chans = slices.Grow(c.chans[:0], len(snap))
	defer func() { c.chans = chans[:0] }()
	for _, cur := range snap {
		if len(f.Records) >= c.opts.MaxPollRecords {
			break
		}
		if ch, err := c.b.Changed(cur.tp.Topic, cur.tp.Partition); err == nil {
			chans = append(chans, ch)
		}
		recs, err := c.fetchPartition(ctx, &cur, c.opts.MaxPollRecords-len(f.Records), &f.mem)
		if len(recs) > 0 {
			f.gens = append(f.gens, partGen{cur.tp, cur.gen})
		}
		if err != nil && ctx.Err() != nil && isCtxErr(err) {
			// Poll's ctx ended mid-read: that is Poll's answer (its
			// error), not the partition's. Records read before it are
			// returned: their cursors have moved past them.
			break
		}
		if err != nil {
			f.Errors = append(f.Errors, &FetchError{Topic: cur.tp.Topic, Partition: cur.tp.Partition, Err: err})
			continue
		}
		switch {
		case len(recs) == 0:
		case f.Records == nil:
			f.Records = recs // no copy for the first (often the only) partition
		default: // several partitions: one pooled slice for them all
			if f.mem == nil { // set by the slabs held for the records before; never nil here in practice
				f.mem = &fetchMem{}
			}
			m := f.mem
			if m.ptrs == nil {
				m.ptrs = ptrsPool.Get().(*[]*Record)
				*m.ptrs = append((*m.ptrs)[:0], f.Records...)
			}
			*m.ptrs = append(*m.ptrs, recs...)
			f.Records = *m.ptrs
		}
	}
	return f, chans, wake
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// fetchPartition reads from one cursor snapshot and, if no Seek moved the
// cursor meanwhile, advances it past what it returns, which *m then holds
// (allocated with the first records, so a Poll that waits allocates none).
func (c *Consumer) fetchPartition(ctx context.Context, snap *cursor, limit int, m **fetchMem) ([]*Record, error) {
	tp := snap.tp
	offset := snap.offset
	ider, hasIDs := c.b.(topicIDer)
	if hasIDs && !snap.idKnown && len(snap.buf) == 0 {
		// Taken before the position is resolved or read from, so a
		// recreation after it is seen by the check after the fetch.
		id, err := ider.TopicID(tp.Topic)
		if err != nil {
			return nil, c.dropIfGone(tp, err)
		}
		snap.topicID, snap.idKnown = id, true
	}
	if !snap.resolved {
		off, err := c.resolve(ctx, tp, snap.start)
		if err != nil {
			return nil, c.dropIfGone(tp, err)
		}
		var ok bool
		if offset, ok = c.settle(snap, off); !ok {
			return nil, nil
		}
		snap.resolved = true
	}
	if len(snap.buf) > 0 { // left over from the last fetch
		k := min(limit, len(snap.buf))
		out, rest := snap.buf[:k:k], snap.buf[k:]
		next := snap.bufEnd
		s, kept := snap.slab, snap.slab
		if len(rest) > 0 {
			next = rest[0].Offset
		} else {
			kept = nil
		}
		if !c.advance(snap, next, rest, snap.bufEnd, kept) {
			return nil, nil // the cursor's hold on s is lost: s is left to the GC
		}
		if s != nil {
			hold(m, s)
			if kept == nil {
				s.release() // the cursor's hold
			}
		}
		return out, nil
	}
	s := getSlab()
	var fetch partition.Fetch
	var err error
	if fi, ok := c.b.(fetcherInto); ok && s.reused {
		fetch, s.data, err = fi.FetchInto(ctx, s.data[:0], tp.Topic, tp.Partition, offset, c.opts.MaxPartitionBytes)
	} else {
		fetch, err = c.b.Fetch(ctx, tp.Topic, tp.Partition, offset, c.opts.MaxPartitionBytes)
		s.external = true
	}
	if hasIDs && snap.idKnown {
		if id, err := ider.TopicID(tp.Topic); err != nil || id != snap.topicID {
			// The topic was deleted (and maybe created again) since its
			// position was taken: what was read (or the range an
			// out-of-range error gives) is not at that position.
			s.release()
			if err != nil {
				return nil, c.dropIfGone(tp, err)
			}
			c.restart(snap, id)
			return nil, nil
		}
	}
	if err != nil {
		s.release()
		// oe is declared here, not before the if: errors.As moves it to
		// the heap, which was an allocation on every fetch.
		var oe *partition.OffsetError
		if errors.As(err, &oe) && c.opts.OnOutOfRange != ResetError {
			to := Earliest()
			if c.opts.OnOutOfRange == ResetLatest {
				to = Latest()
			}
			c.reset(snap, to)
			return nil, nil // the next round reads from the new position
		}
		return nil, c.dropIfGone(tp, err)
	}
	recs, next, err := fetch.AppendRecords(s.recs[:0], offset)
	s.recs = recs
	if err != nil {
		s.release()
		return nil, &partition.Error{Topic: tp.Topic, Partition: tp.Partition, Offset: next,
			Err: errors.Join(partition.ErrCorruptStorage, err)}
	}
	all := slices.Grow(s.ptrs[:0], len(recs))[:len(recs)] // pointers into recs
	for i := range recs {
		r := &recs[i]
		r.Topic, r.Partition = tp.Topic, tp.Partition
		all[i] = r
	}
	s.ptrs = all
	// out's capacity ends at k, so appending to it never overwrites rest.
	k := min(limit, len(all))
	out, rest, end := all[:k:k], all[k:], next
	var kept *slab // the cursor's, if records remain for later Polls
	if len(rest) > 0 {
		next, kept = rest[0].Offset, s
	}
	if !c.advance(snap, next, rest, end, kept) {
		s.release() // Seek moved the cursor: these records are stale
		return nil, nil
	}
	if len(out) > 0 {
		hold(m, s)
	}
	if kept == nil {
		s.release() // the fetch's hold, now m's or nobody's
	}
	if len(all) == 0 && end > offset && end < fetch.HighWatermark {
		// The batches read hold no record from offset on (a cleaner
		// emptied their tail), but later ones may: read on from after
		// them now. Waiting instead would wait for the next append,
		// which may never come.
		snap.offset = end
		return c.fetchPartition(ctx, snap, limit, m)
	}
	return out, nil
}

// settle makes off the position of snap's unresolved start (Earliest,
// Latest, a time), unless a Seek moved the cursor (false) or a concurrent
// Position resolved it first: then that position stands, so Poll and
// Position never disagree on where Latest was. It returns the position.
func (c *Consumer) settle(snap *cursor, off int64) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.cursors[snap.tp]
	if !ok || cur.gen != snap.gen {
		return 0, false
	}
	cur.goneAt = time.Time{}
	if !cur.resolved {
		cur.offset, cur.resolved = off, true
		if snap.idKnown {
			cur.topicID, cur.idKnown = snap.topicID, true
		}
	}
	return cur.offset, true
}

// advance sets the cursor to offset, with the decoded records buf that
// follow it (ending at bufEnd, held in s), if its generation is unchanged.
func (c *Consumer) advance(snap *cursor, offset int64, buf []*Record, bufEnd int64, s *slab) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.cursors[snap.tp]
	if !ok || cur.gen != snap.gen {
		return false
	}
	cur.offset, cur.resolved, cur.buf, cur.bufEnd, cur.slab = offset, true, buf, bufEnd, s
	cur.goneAt = time.Time{}
	if snap.idKnown {
		cur.topicID, cur.idKnown = snap.topicID, true
	}
	return true
}

// restart moves the cursor of a topic that was created again (now
// incarnation id) to the start position, as a new partition, if no Seek
// moved it since the snapshot.
func (c *Consumer) restart(snap *cursor, id uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.cursors[snap.tp]; ok && cur.gen == snap.gen {
		cur.start, cur.resolved, cur.buf, cur.slab = c.opts.Start, false, nil, nil
		cur.topicID, cur.idKnown = id, true
		c.wakeLocked()
	}
}

// reset moves the cursor to a start position, to resolve at the next
// fetch, if no Seek moved it since the snapshot.
func (c *Consumer) reset(snap *cursor, to Offset) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.cursors[snap.tp]; ok && cur.gen == snap.gen {
		cur.start, cur.resolved, cur.buf, cur.slab = to, false, nil, nil
		c.wakeLocked() // so Poll reads from there at once
	}
}

// dropIfGone stops consuming a subscribed partition whose topic went away;
// the error is still reported once. An assigned partition is kept but
// parked (see cursor.goneAt): its error is reported when it goes, not
// again at each look while it stays gone.
func (c *Consumer) dropIfGone(tp TopicPartition, err error) error {
	if !isGone(err) {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.cursors[tp]
	switch {
	case !ok:
	case !cur.explicit:
		delete(c.cursors, tp)
		c.order = slices.DeleteFunc(c.order, func(x TopicPartition) bool { return x == tp })
	case !errors.Is(err, topic.ErrUnknownTopic) && !errors.Is(err, topic.ErrUnknownPartition):
		// ErrClosed: the broker is closed (a deleted topic's handle is
		// seen as unknown by the TopicID check). Nothing comes back:
		// waiting would hide it, so each Poll says so, as before.
	case cur.goneAt.IsZero():
		cur.goneAt = time.Now()
	default:
		cur.goneAt = time.Now()
		return nil
	}
	return err
}

// resolve turns a start position into an offset.
func (c *Consumer) resolve(ctx context.Context, tp TopicPartition, o Offset) (int64, error) {
	switch o.kind {
	case 2:
		return o.at, nil
	case 3:
		off, _, err := c.b.OffsetForTime(ctx, tp.Topic, tp.Partition, o.t)
		return off, err
	}
	logStart, hwm, err := c.b.Watermarks(tp.Topic, tp.Partition)
	if o.kind == 1 {
		return hwm, err
	}
	return logStart, err
}
