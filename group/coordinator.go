package group

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2"
)

// Partitions is what the coordinator needs to know about the log, for lag
// and offset resets. *cairn.Broker implements it.
type Partitions interface {
	PartitionCount(topic string) (int, error)
	Watermarks(topic string, partition int32) (logStart, highWatermark int64, err error)
	OffsetForTime(ctx context.Context, topic string, partition int32, t time.Time) (int64, bool, error)
}

// Options configure a Coordinator.
type Options struct {
	// DB stores committed offsets; it is borrowed, not closed.
	DB *pebble.DB
	// Sync makes commits wait for fsync.
	Sync bool
	// Partitions answers lag and reset questions.
	Partitions Partitions
	// InitialRebalanceDelay holds the first rebalance of an empty group so
	// members joining together land in one generation, as Kafka's
	// group.initial.rebalance.delay.ms; default 0.
	InitialRebalanceDelay time.Duration
	// MinSessionTimeout and MaxSessionTimeout bound members' session
	// timeouts; defaults 10ms and 30 minutes.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// Now is the clock for commit times; nil means time.Now.
	Now func() time.Time
}

// Coordinator runs every group of a broker. Each group is a state machine
// behind its own mutex; the coordinator's lock only guards the map of
// groups, so groups never contend with each other. Timers (sessions,
// rebalances) are runtime timers, stopped by Close: the coordinator owns
// no goroutine.
type Coordinator struct {
	opts Options

	mu     sync.RWMutex // guards groups and closed
	groups map[string]*group
	closed bool

	// forgetMu orders ForgetTopic (write) against ResetOffsets (read),
	// which checks its partitions exist and commits: a reset cannot land
	// after a deleted topic's commits were cleared.
	forgetMu sync.RWMutex
}

// Open loads committed offsets and returns a coordinator. Groups come back
// Empty: members rejoin after a restart, as after a Kafka coordinator
// failover.
func Open(o Options) (*Coordinator, error) {
	if o.MinSessionTimeout == 0 {
		o.MinSessionTimeout = 10 * time.Millisecond
	}
	if o.MaxSessionTimeout == 0 {
		o.MaxSessionTimeout = 30 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Coordinator{opts: o, groups: map[string]*group{}}
	if err := c.loadOffsets(); err != nil {
		return nil, err
	}
	return c, nil
}

// SetPartitions sets the log view used by Lag and ResetOffsets, for a
// broker that creates the coordinator before itself is complete.
func (c *Coordinator) SetPartitions(p Partitions) { c.opts.Partitions = p }

// maxNameLen is the longest group id or topic name a committed offset's
// key holds (its lengths are 16 bits; Kafka's strings stop at 32,767
// bytes too). A longer one wrapped, and the broker could not reopen.
const maxNameLen = 32767

// errDeleted is what a call on a group DeleteGroup removed meanwhile gets
// from it; the call looks the group up again.
var errDeleted = errors.New("cairn: group deleted meanwhile")

// lookup returns group id, creating it (Empty) if create is set.
func (c *Coordinator) lookup(id string, create bool) (*group, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: %d bytes (1 to %d)", ErrInvalidGroupID, len(id), maxNameLen)
	}
	return c.lookupAny(id, create)
}

// lookupAny is lookup that takes the empty group id too, as Kafka's
// GroupCoordinator.isValidGroupId does for OffsetCommit, OffsetFetch,
// DescribeGroups and DeleteGroups: a Java consumer before 2.2 has group.id
// "" by default, and fetches and commits its offsets there. Such a group
// never has members: joining it is refused.
func (c *Coordinator) lookupAny(id string, create bool) (*group, error) {
	if len(id) > maxNameLen {
		return nil, fmt.Errorf("%w: %d bytes (up to %d)", ErrInvalidGroupID, len(id), maxNameLen)
	}
	c.mu.RLock()
	g, ok := c.groups[id]
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil, partition.ErrClosed
	}
	if ok {
		return g, nil
	}
	if !create {
		return nil, fmt.Errorf("%w: %q", ErrUnknownGroup, id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, partition.ErrClosed
	}
	if g, ok = c.groups[id]; !ok {
		g = newGroup(c, id)
		c.groups[id] = g
	}
	return g, nil
}

// Close stops every group's timers and fails waiting joins and syncs with
// ErrClosed. Later calls return ErrClosed.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	groups := maps.Clone(c.groups) // DeleteGroup may change the map meanwhile
	c.mu.Unlock()
	for _, g := range groups {
		g.close()
	}
	return nil
}

// apply writes b unless the coordinator is closed. Close waits for an
// apply in progress (it takes mu), and the broker closes Pebble only after
// Close: a call that raced Close, holding a group it looked up before,
// panicked in a closed Pebble.
func (c *Coordinator) apply(b *pebble.Batch) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return partition.ErrClosed
	}
	return c.opts.DB.Apply(b, c.writeOpts())
}

func (c *Coordinator) writeOpts() *pebble.WriteOptions {
	if c.opts.Sync {
		return pebble.Sync
	}
	return pebble.NoSync
}

// JoinGroup joins a member to a group, creating the group if needed, and
// waits until the rebalance it takes part in completes or ctx is done.
func (c *Coordinator) JoinGroup(ctx context.Context, req JoinRequest) (JoinResponse, error) {
	if req.SessionTimeout < c.opts.MinSessionTimeout || req.SessionTimeout > c.opts.MaxSessionTimeout {
		return JoinResponse{}, fmt.Errorf("%w: %v not in [%v, %v]", ErrInvalidSessionTimeout,
			req.SessionTimeout, c.opts.MinSessionTimeout, c.opts.MaxSessionTimeout)
	}
	if req.RebalanceTimeout <= 0 {
		req.RebalanceTimeout = req.SessionTimeout
	}
	if req.ProtocolType == "" || len(req.Protocols) == 0 {
		return JoinResponse{}, fmt.Errorf("%w: no protocol", ErrInconsistentProtocol)
	}
	for {
		// As Kafka: only a join without a member id creates the group; a
		// member of a group that does not exist is unknown.
		g, err := c.lookup(req.Group, req.MemberID == "")
		if err != nil {
			return JoinResponse{}, unknownMember(err)
		}
		resp, err := g.join(ctx, req)
		if errors.Is(err, errDeleted) {
			continue // joining a group nobody could see: join its successor
		}
		return resp, err
	}
}

// SyncGroup sends the leader's assignments (or waits for them) and
// returns the member's own assignment.
func (c *Coordinator) SyncGroup(ctx context.Context, req SyncRequest) ([]byte, error) {
	g, err := c.lookup(req.Group, false)
	if err != nil {
		return nil, unknownMember(err)
	}
	return g.sync(ctx, req)
}

// Heartbeat keeps a member's session alive. ErrRebalanceInProgress tells
// it to rejoin.
func (c *Coordinator) Heartbeat(_ context.Context, req HeartbeatRequest) error {
	g, err := c.lookup(req.Group, false)
	if err != nil {
		return unknownMember(err)
	}
	return g.heartbeat(req)
}

// LeaveGroup removes members at once, starting a rebalance for the rest.
func (c *Coordinator) LeaveGroup(_ context.Context, groupID string, members ...MemberIdentity) error {
	g, err := c.lookup(groupID, false)
	if err != nil {
		return unknownMember(err)
	}
	return g.leave(members)
}

// unknownMember turns "no such group" into "no such member" for member
// requests, as Kafka answers them.
func unknownMember(err error) error {
	if err == nil || !isUnknownGroup(err) {
		return err
	}
	return fmt.Errorf("%w (%v)", ErrUnknownMemberID, err)
}
