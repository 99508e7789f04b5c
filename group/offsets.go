package group

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2"
)

// Offsets are stored one key per partition:
//
//	o | len u16 | group | len u16 | topic | partition u32 -> offset u64 | time ms u64 | metadata
const prefixOffsets = log.PrefixGroupOffsets

func offsetKey(groupID string, tp TopicPartition) []byte {
	k := groupPrefix(groupID)
	k = binary.BigEndian.AppendUint16(k, uint16(len(tp.Topic)))
	k = append(k, tp.Topic...)
	return binary.BigEndian.AppendUint32(k, uint32(tp.Partition))
}

func groupPrefix(groupID string) []byte {
	k := []byte{prefixOffsets}
	k = binary.BigEndian.AppendUint16(k, uint16(len(groupID)))
	return append(k, groupID...)
}

// decodeOffsetKey splits a stored key; ok is false for foreign keys.
func decodeOffsetKey(k []byte) (groupID string, tp TopicPartition, ok bool) {
	next := func(b []byte) (string, []byte, bool) {
		if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
			return "", nil, false
		}
		n := int(binary.BigEndian.Uint16(b))
		return string(b[2 : 2+n]), b[2+n:], true
	}
	if len(k) == 0 || k[0] != prefixOffsets {
		return "", tp, false
	}
	g, rest, ok1 := next(k[1:])
	t, rest, ok2 := next(rest)
	if !ok1 || !ok2 || len(rest) != 4 {
		return "", tp, false
	}
	return g, TopicPartition{t, int32(binary.BigEndian.Uint32(rest))}, true
}

func encodeCommitted(c Committed) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(c.Offset))
	v = binary.BigEndian.AppendUint64(v, uint64(c.Time.UnixMilli()))
	return append(v, c.Metadata...)
}

func decodeCommitted(v []byte) (Committed, bool) {
	if len(v) < 16 {
		return Committed{}, false
	}
	return Committed{
		Offset:   int64(binary.BigEndian.Uint64(v)),
		Time:     time.UnixMilli(int64(binary.BigEndian.Uint64(v[8:]))),
		Metadata: string(v[16:]),
	}, true
}

func (c *Coordinator) loadOffsets() error {
	lo := []byte{prefixOffsets}
	it, err := c.opts.DB.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: log.PrefixEnd(lo)})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		gid, tp, ok1 := decodeOffsetKey(it.Key())
		com, ok2 := decodeCommitted(it.Value())
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: committed offset %x", partition.ErrCorruptStorage, it.Key())
		}
		g, ok := c.groups[gid]
		if !ok {
			g = newGroup(c, gid)
			c.groups[gid] = g
		}
		g.offsets[tp] = com
	}
	return it.Error()
}

// CommitOffsets stores offsets for a group, all or none. Members are
// fenced: an unknown member or an older generation changes nothing, and a
// member may only commit partitions assigned to it. Generation -1 is a
// commit outside group management, as in Kafka: a group without members
// takes it whatever the member id.
func (c *Coordinator) CommitOffsets(_ context.Context, req CommitRequest) error {
	for {
		err := c.commitOffsets(req)
		if !errors.Is(err, errDeleted) {
			return err
		}
		// DeleteGroup removed the group between lookup and lock: a simple
		// commit goes to its successor, a member's finds no group.
	}
}

func (c *Coordinator) commitOffsets(req CommitRequest) error {
	// As Kafka: generation -1 commits outside group management (into a
	// group without members, whatever the member id); a real generation
	// of a group that does not exist is an older one's.
	simple := req.Generation < 0
	g, err := c.lookupAny(req.Group, simple)
	if isUnknownGroup(err) {
		return fmt.Errorf("%w: %d (%v)", ErrIllegalGeneration, req.Generation, err)
	}
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == Dead {
		return errDeleted
	}
	if err := g.checkCommit(req, simple); err != nil {
		return err
	}
	// Stored in milliseconds: keep what a reopen reads back.
	now := time.UnixMilli(c.opts.Now().UnixMilli())
	b := c.opts.DB.NewBatch()
	defer b.Close()
	stamped := make(map[TopicPartition]Committed, len(req.Offsets)) // the caller's map is left as it was
	for tp, com := range req.Offsets {
		com.Time = now
		stamped[tp] = com
		if err := b.Set(offsetKey(g.id, tp), encodeCommitted(com), nil); err != nil {
			return err
		}
	}
	if err := c.apply(b); err != nil {
		return err
	}
	maps.Copy(g.offsets, stamped)
	return nil
}

// checkCommit validates a commit against the group; mu is held.
func (g *group) checkCommit(req CommitRequest, simple bool) error {
	for tp, com := range req.Offsets {
		if com.Offset < 0 {
			return &PartitionError{Group: g.id, Topic: tp.Topic, Partition: tp.Partition,
				Err: fmt.Errorf("%w: %d", ErrInvalidOffset, com.Offset)}
		}
		if tp.Topic == "" || len(tp.Topic) > maxNameLen {
			return &PartitionError{Group: g.id, Topic: tp.Topic, Partition: tp.Partition,
				Err: fmt.Errorf("%w: topic name of %d bytes", partition.ErrInvalidArgument, len(tp.Topic))}
		}
	}
	if simple {
		if g.closed {
			return partition.ErrClosed
		}
		if len(g.members) == 0 {
			return nil
		}
		if req.MemberID == "" && req.InstanceID == "" {
			return fmt.Errorf("%w: group %q has members; commit as one of them", ErrUnknownMemberID, g.id)
		}
	}
	m, err := g.check(req.MemberID, req.InstanceID, req.Generation)
	if err != nil {
		return err
	}
	if g.state == CompletingRebalance {
		return ErrRebalanceInProgress
	}
	owned, ok := ownedPartitions(g.protocolType, m.assignment)
	if !ok || req.AnyPartition {
		return nil // not a consumer group: the assignment is opaque
	}
	// A cooperative member commits the partitions it gives up after the
	// sync that took them away: they count as its own until another member
	// is assigned them.
	prev, _ := ownedPartitions(g.protocolType, m.prev)
	for tp := range req.Offsets {
		if !owned[tp] && (!prev[tp] || g.ownedByOther(m, tp)) {
			return &PartitionError{Group: g.id, Topic: tp.Topic, Partition: tp.Partition, Err: ErrNotAssigned}
		}
	}
	return nil
}

func (g *group) ownedByOther(m *member, tp TopicPartition) bool {
	for _, o := range g.members {
		if o != m {
			if owned, _ := ownedPartitions(g.protocolType, o.assignment); owned[tp] {
				return true
			}
		}
	}
	return false
}

// ForgetTopic deletes every group's committed offsets of topic, as Kafka
// does when a topic is deleted: a topic created again under the name
// starts without commits. (Its consumers read the new topic from the old
// one's offsets, skipping its first records.)
func (c *Coordinator) ForgetTopic(topic string) error {
	c.forgetMu.Lock() // a ResetOffsets in flight lands first
	defer c.forgetMu.Unlock()
	c.mu.RLock()
	groups := maps.Clone(c.groups)
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return partition.ErrClosed
	}
	for _, g := range groups {
		if err := g.forget(topic); err != nil {
			return err
		}
	}
	return nil
}

func (g *group) forget(topic string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var tps []TopicPartition
	for tp := range g.offsets {
		if tp.Topic == topic {
			tps = append(tps, tp)
		}
	}
	if len(tps) == 0 {
		return nil
	}
	b := g.c.opts.DB.NewBatch()
	defer b.Close()
	for _, tp := range tps {
		if err := b.Delete(offsetKey(g.id, tp), nil); err != nil {
			return err
		}
	}
	if err := g.c.apply(b); err != nil {
		return err
	}
	for _, tp := range tps {
		delete(g.offsets, tp)
	}
	return nil
}

// FetchOffsets returns the committed offsets of partitions (all of the
// group's when none are named). Partitions without a commit are absent. An
// unknown group has no offsets.
func (c *Coordinator) FetchOffsets(_ context.Context, groupID string, tps ...TopicPartition) (map[TopicPartition]Committed, error) {
	g, err := c.lookupAny(groupID, false)
	if errors.Is(err, ErrUnknownGroup) {
		return map[TopicPartition]Committed{}, nil
	}
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[TopicPartition]Committed{}
	if len(tps) == 0 {
		for tp, com := range g.offsets {
			out[tp] = com
		}
		return out, nil
	}
	for _, tp := range tps {
		if com, ok := g.offsets[tp]; ok {
			out[tp] = com
		}
	}
	return out, nil
}

func isUnknownGroup(err error) bool { return errors.Is(err, ErrUnknownGroup) }
