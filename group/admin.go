package group

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
)

// Listing is one group in ListGroups.
type Listing struct {
	Group        string
	State        State
	ProtocolType string
}

// Description is a group's state for DescribeGroup.
type Description struct {
	Group        string
	State        State
	ProtocolType string
	Protocol     string
	Generation   int32
	Leader       string
	Members      []Member
}

// Lag is one partition's consumer lag: high watermark minus committed
// offset (or minus the log start when nothing is committed).
type Lag struct {
	TopicPartition
	Committed     int64 // -1 if none
	HighWatermark int64
	Lag           int64
}

// ListGroups returns every known group, sorted by id.
func (c *Coordinator) ListGroups(_ context.Context) ([]Listing, error) {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, partition.ErrClosed
	}
	groups := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.RUnlock()
	out := make([]Listing, 0, len(groups))
	for _, g := range groups {
		g.mu.Lock()
		out = append(out, Listing{Group: g.id, State: g.state, ProtocolType: g.protocolType})
		g.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Listing) int {
		if a.Group < b.Group {
			return -1
		}
		if a.Group > b.Group {
			return 1
		}
		return 0
	})
	return out, nil
}

// DescribeGroup returns a group's state, members and their assignments.
func (c *Coordinator) DescribeGroup(_ context.Context, groupID string) (Description, error) {
	g, err := c.lookupAny(groupID, false)
	if err != nil {
		return Description{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d := Description{Group: g.id, State: g.state, ProtocolType: g.protocolType, Protocol: g.protocol,
		Generation: g.generation, Leader: g.leader}
	for _, id := range g.sortedMembers() {
		m := g.members[id]
		d.Members = append(d.Members, Member{MemberID: m.id, InstanceID: m.instance, ClientID: m.clientID,
			Metadata: m.metadata(g.protocol), Assignment: m.assignment})
	}
	return d, nil
}

// Lag returns, for each partition the group has committed, how far the
// committed offset is behind the high watermark.
func (c *Coordinator) Lag(ctx context.Context, groupID string) ([]Lag, error) {
	parts, err := c.partitions()
	if err != nil {
		return nil, err
	}
	g, err := c.lookup(groupID, false)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	offs := make(map[TopicPartition]Committed, len(g.offsets))
	for tp, com := range g.offsets {
		offs[tp] = com
	}
	// Partitions assigned to members but never committed count too, with
	// their whole log as lag, as Kafka's consumer-groups tool shows them.
	for _, m := range g.members {
		owned, _ := ownedPartitions(g.protocolType, m.assignment)
		for tp := range owned {
			if _, ok := offs[tp]; !ok {
				offs[tp] = Committed{Offset: -1}
			}
		}
	}
	g.mu.Unlock()
	var out []Lag
	for _, tp := range sortedTPs(mapKeys(offs)) {
		logStart, hwm, err := parts.Watermarks(tp.Topic, tp.Partition)
		if err != nil {
			return nil, &PartitionError{Group: groupID, Topic: tp.Topic, Partition: tp.Partition, Err: err}
		}
		com := offs[tp].Offset
		from := com
		if com < 0 {
			from = logStart
		}
		out = append(out, Lag{TopicPartition: tp, Committed: com, HighWatermark: hwm, Lag: max(0, hwm-from)})
	}
	return out, nil
}

func mapKeys(m map[TopicPartition]Committed) []TopicPartition {
	out := make([]TopicPartition, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// DeleteGroup deletes an empty group and its committed offsets.
func (c *Coordinator) DeleteGroup(_ context.Context, groupID string) error {
	g, err := c.lookupAny(groupID, false)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == Dead { // another DeleteGroup got there first
		return fmt.Errorf("%w: %q", ErrUnknownGroup, groupID)
	}
	if len(g.members) > 0 {
		return fmt.Errorf("%w: %q has %d members", ErrNonEmptyGroup, groupID, len(g.members))
	}
	p := groupPrefix(groupID)
	b := c.opts.DB.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(p, log.PrefixEnd(p), nil); err != nil {
		return err
	}
	if err := c.apply(b); err != nil {
		return err
	}
	g.state = Dead
	g.offsets = map[TopicPartition]Committed{}
	c.mu.Lock()
	if c.groups[groupID] == g {
		delete(c.groups, groupID)
	}
	c.mu.Unlock()
	return nil
}

// partitions returns the log view Lag and ResetOffsets need.
func (c *Coordinator) partitions() (Partitions, error) {
	if c.opts.Partitions == nil {
		return nil, fmt.Errorf("%w: group coordinator has no Options.Partitions", partition.ErrInvalidArgument)
	}
	return c.opts.Partitions, nil
}

// ResetTo is a target for ResetOffsets.
type ResetTo struct {
	kind   int8 // 0 earliest, 1 latest, 2 offset, 3 time
	offset int64
	t      time.Time
}

// ToEarliest resets to the log start offset.
func ToEarliest() ResetTo { return ResetTo{kind: 0} }

// ToLatest resets to the high watermark.
func ToLatest() ResetTo { return ResetTo{kind: 1} }

// ToOffset resets to an exact offset, which must lie in the log.
func ToOffset(off int64) ResetTo { return ResetTo{kind: 2, offset: off} }

// ToTime resets to the first offset at or after t.
func ToTime(t time.Time) ResetTo { return ResetTo{kind: 3, t: t} }

// ResetOffsets sets a group's committed offsets for partitions, only while
// the group has no members (Kafka's kafka-consumer-groups --reset-offsets
// rule); a group that does not exist yet is created, as there. Every
// target is resolved first: a bad one changes nothing.
func (c *Coordinator) ResetOffsets(ctx context.Context, groupID string, to ResetTo, tps ...TopicPartition) error {
	if _, err := c.partitions(); err != nil {
		return err
	}
	// The group is created by the commit below, once every target
	// resolved: a reset that changes nothing leaves no group behind.
	g, err := c.lookup(groupID, false)
	if err != nil && !errors.Is(err, ErrUnknownGroup) {
		return err
	}
	if g != nil {
		g.mu.Lock()
		members := len(g.members)
		g.mu.Unlock()
		if members > 0 {
			return fmt.Errorf("%w: %q has %d members", ErrNonEmptyGroup, groupID, members)
		}
	}
	if len(tps) == 0 {
		return fmt.Errorf("%w: no partitions to reset", partition.ErrInvalidArgument)
	}
	// No ForgetTopic between resolving (which checks the partition
	// exists) and the commit.
	c.forgetMu.RLock()
	defer c.forgetMu.RUnlock()
	offsets := map[TopicPartition]Committed{}
	for _, tp := range tps {
		off, err := c.resolveReset(ctx, tp, to)
		if err != nil {
			return &PartitionError{Group: groupID, Topic: tp.Topic, Partition: tp.Partition, Err: err}
		}
		offsets[tp] = Committed{Offset: off, Metadata: "reset"}
	}
	return c.CommitOffsets(ctx, CommitRequest{Group: groupID, Generation: -1, Offsets: offsets})
}

func (c *Coordinator) resolveReset(ctx context.Context, tp TopicPartition, to ResetTo) (int64, error) {
	logStart, hwm, err := c.opts.Partitions.Watermarks(tp.Topic, tp.Partition)
	if err != nil {
		return 0, err
	}
	switch to.kind {
	case 0:
		return logStart, nil
	case 1:
		return hwm, nil
	case 2:
		if to.offset < logStart || to.offset > hwm {
			return 0, fmt.Errorf("%w: %d outside [%d, %d]", ErrInvalidOffset, to.offset, logStart, hwm)
		}
		return to.offset, nil
	}
	off, _, err := c.opts.Partitions.OffsetForTime(ctx, tp.Topic, tp.Partition, to.t)
	return off, err
}
