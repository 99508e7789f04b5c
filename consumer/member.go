package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

// GroupBroker is a Broker with a group coordinator. *cairn.Broker is one.
type GroupBroker interface {
	Broker
	group.API
}

// member is a consumer's group membership. The polling goroutine joins,
// syncs and moves partitions; the heartbeat goroutine only raises flags.
type member struct {
	c   *Consumer
	api GroupBroker

	mu         sync.Mutex // guards the fields below
	id         string
	generation int32
	protocol   string
	leader     bool
	owned      []TopicPartition
	rejoin     bool // a rebalance is needed: Poll joins again
	joining    bool // Poll is in a join: heartbeats would carry a stale generation
	lost       bool // the coordinator dropped us: owned partitions are lost
	lastPoll   time.Time
	polling    bool             // a Poll is in progress: it counts as polling however long it waits
	fenced     error            // another consumer took our InstanceID: fatal, as in Kafka
	counts     map[string]int32 // sizes of the group's topics the assignment was made for (leader)
	// resuming is set when a Poll's ctx ended in a join, which the next
	// Poll carries on: the group may complete that rebalance with us
	// meanwhile, a generation past our heartbeats'.
	resuming bool

	lastCommit time.Time // used by the polling goroutine only

	stop chan struct{} // closed to end the heartbeat goroutine
	done chan struct{} // closed when it has ended
}

func newMember(c *Consumer, api GroupBroker) *member {
	return &member{c: c, api: api, generation: -1, rejoin: true, lastPoll: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
}

func (m *member) assignor(name string) group.Assignor {
	for _, a := range m.c.opts.Assignors {
		if a.Name() == name {
			return a
		}
	}
	return nil
}

// polled records that the user polled, and says whether a join is due.
// Until pollDone, the member counts as polling: a Poll that waits on a
// quiet topic longer than the rebalance timeout is not a user who stopped
// polling (the member used to leave, and the same waiting Poll rejoin,
// over and over).
func (m *member) polled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastPoll, m.polling = time.Now(), true
	return m.rejoin
}

// pollDone records the end of a Poll.
func (m *member) pollDone() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastPoll, m.polling = time.Now(), false
}

// fence records that another consumer joined with our InstanceID. As in
// Kafka, that is fatal: two consumers with one InstanceID would otherwise
// fence each other back and forth, each taking the assignment without a
// rebalance, and both read the same partitions. Every later Poll fails.
func (m *member) fence(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fenced == nil {
		m.fenced = err
	}
	m.lost, m.rejoin = len(m.owned) > 0, false
}

// fencedErr returns the error that fenced the member, if any.
func (m *member) fencedErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fenced
}

func (m *member) needsJoin() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rejoin
}

// heartbeats runs until stop: it keeps the session alive, and flags a
// rejoin when the coordinator asks for one. A user who stops polling for
// longer than the rebalance timeout leaves the group, as Kafka's
// max.poll.interval.ms.
func (m *member) heartbeats() {
	defer close(m.done)
	t := time.NewTicker(m.c.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.mu.Lock()
		id, gen, idle := m.id, m.generation, time.Since(m.lastPoll)
		if m.polling {
			idle = 0
		}
		fenced := m.fenced != nil
		m.mu.Unlock()
		if id == "" || fenced {
			continue
		}
		if idle > m.c.opts.RebalanceTimeout {
			// A static member does not leave, as in Kafka: its session
			// expires unless a Poll takes its place back first, without
			// a rebalance.
			if m.c.opts.InstanceID == "" {
				_ = m.api.LeaveGroup(context.Background(), m.c.opts.Group, group.MemberIdentity{MemberID: id})
			}
			m.flag(true, true)
			continue
		}
		err := m.api.Heartbeat(context.Background(), group.HeartbeatRequest{Group: m.c.opts.Group,
			MemberID: id, InstanceID: m.c.opts.InstanceID, Generation: gen})
		// A heartbeat of the generation a join is replacing earns an
		// illegal generation: that is not a loss of our partitions (taking
		// it as one made members rejoin owning nothing, and the sticky
		// assignor move their partitions to others).
		m.mu.Lock()
		stale := m.generation != gen || m.joining ||
			m.resuming && errors.Is(err, group.ErrIllegalGeneration)
		m.mu.Unlock()
		if stale {
			continue
		}
		switch {
		case errors.Is(err, group.ErrRebalanceInProgress):
			m.flag(false, false)
		case errors.Is(err, group.ErrIllegalGeneration):
			m.flag(true, false)
		case errors.Is(err, group.ErrFencedInstanceID):
			m.fence(err)
		case errors.Is(err, group.ErrUnknownMemberID):
			m.flag(true, true)
		}
	}
}

// flag asks the polling goroutine to rejoin; lost says our partitions
// were taken away without a chance to commit, gone that our member id is
// no longer known.
func (m *member) flag(lost, gone bool) {
	m.mu.Lock()
	m.rejoin = true
	if lost {
		m.lost, m.generation = true, -1
	}
	if gone {
		m.id = ""
	}
	m.mu.Unlock()
	m.c.mu.Lock()
	m.c.wakeLocked()
	m.c.mu.Unlock()
}

// join runs rebalances until this member has a stable assignment. It is
// called by Poll, so a member that does not poll does not rejoin and is
// removed after the rebalance timeout.
func (m *member) join(ctx context.Context) (err error) {
	m.setJoining(true)
	defer func() {
		m.mu.Lock()
		m.joining = false
		if err != nil && m.fenced == nil {
			// The rebalance is unfinished (a Poll whose ctx ended in
			// SyncGroup, say): the next Poll carries on with it. Without
			// this, heartbeats succeeded in the new generation and the
			// member never learnt its assignment.
			m.rejoin = true
		}
		// Cut short by ctx, the join stays in the group (the member is
		// still in the rebalance): until the next Poll carries it on, an
		// illegal generation is the group moving on with us, not our
		// partitions taken away (the resumed join learns if they were).
		m.resuming = err != nil && m.fenced == nil && ctx.Err() != nil
		m.mu.Unlock()
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m.dropLost(ctx)
		m.mu.Lock()
		id, owned, cooperative := m.id, slices.Clone(m.owned), m.cooperative()
		m.rejoin = false
		m.mu.Unlock()
		if !cooperative && len(owned) > 0 {
			// Eager: give everything up before joining. A failed commit
			// here, as in Kafka's client, only means the next owner
			// rereads what was processed since the last one.
			_ = m.revoke(ctx, owned)
			owned = nil
		}
		resp, err := m.api.JoinGroup(ctx, group.JoinRequest{
			Group: m.c.opts.Group, MemberID: id, InstanceID: m.c.opts.InstanceID,
			ProtocolType: group.ConsumerProtocol, Protocols: m.protocols(owned),
			SessionTimeout: m.c.opts.SessionTimeout, RebalanceTimeout: m.c.opts.RebalanceTimeout,
			ClientID: "cairn-consumer",
			// Learn our member id before waiting in a join: a join cut short
			// by ctx then comes back as the same member, not a new one the
			// group would wait for.
			RequireKnownMemberID: true,
		})
		if errors.Is(err, group.ErrMemberIDRequired) {
			m.mu.Lock()
			m.id = resp.MemberID
			m.mu.Unlock()
			continue
		}
		if retry, err := m.retryable(err); retry {
			continue
		} else if err != nil {
			return err
		}
		m.mu.Lock()
		m.id, m.generation, m.protocol, m.leader = resp.MemberID, resp.Generation, resp.Protocol, resp.LeaderID == resp.MemberID
		m.mu.Unlock()
		var plan map[string][]byte
		if resp.LeaderID == resp.MemberID {
			if plan, err = m.plan(resp); err != nil {
				return err
			}
		}
		raw, err := m.api.SyncGroup(ctx, group.SyncRequest{Group: m.c.opts.Group, MemberID: resp.MemberID,
			InstanceID: m.c.opts.InstanceID, Generation: resp.Generation, Assignments: plan})
		if retry, err := m.retryable(err); retry {
			continue
		} else if err != nil {
			return err
		}
		assigned, err := group.DecodeAssignment(raw)
		if err != nil {
			return fmt.Errorf("cairn: group %q sent an undecodable assignment: %w", m.c.opts.Group, err)
		}
		if plan != nil {
			// A static leader back in a Stable group gets its old
			// assignment, not our plan: watch the sizes that one was made
			// for, or partitions added meanwhile are never assigned.
			var was map[string]int32
			m.mu.Lock()
			if json.Unmarshal(group.AssignmentUserData(raw), &was) == nil && was != nil {
				m.counts = was
			} else {
				// Planned by a Kafka client whose place we took: the
				// sizes it was made for are unknown, so plan anew.
				m.rejoin = true
			}
			m.mu.Unlock()
		}
		if err := m.apply(ctx, assigned); err != nil {
			return err
		}
		if !m.needsJoin() {
			return nil
		}
	}
}

func (m *member) setJoining(v bool) {
	m.mu.Lock()
	m.joining = v
	m.mu.Unlock()
}

// retryable sorts a join or sync error: rebalances and fencing mean "join
// again". Only an unknown (or fenced) member needs a fresh member id; an
// illegal generation keeps it, or the group would wait for the old id.
func (m *member) retryable(err error) (bool, error) {
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, group.ErrRebalanceInProgress):
		return true, nil
	case errors.Is(err, group.ErrIllegalGeneration):
		m.mu.Lock()
		m.lost, m.generation = len(m.owned) > 0, -1
		m.mu.Unlock()
		return true, nil
	case errors.Is(err, group.ErrFencedInstanceID):
		m.fence(err)
		return false, err
	case errors.Is(err, group.ErrUnknownMemberID):
		m.mu.Lock()
		m.lost, m.id, m.generation = len(m.owned) > 0, "", -1
		m.mu.Unlock()
		return true, nil
	}
	return false, err
}

func (m *member) cooperative() bool {
	a := m.assignor(m.protocol)
	if a == nil { // before the first join: go by our first choice
		a = m.c.opts.Assignors[0]
	}
	return a.Cooperative()
}

func (m *member) protocols(owned []TopicPartition) []group.Protocol {
	m.mu.Lock()
	gen := m.generation
	m.mu.Unlock()
	meta := group.EncodeSubscription(m.c.opts.Topics, owned, gen)
	ps := make([]group.Protocol, len(m.c.opts.Assignors))
	for i, a := range m.c.opts.Assignors {
		ps[i] = group.Protocol{Name: a.Name(), Metadata: meta}
	}
	return ps
}

// plan runs the chosen assignor on the leader.
func (m *member) plan(resp group.JoinResponse) (map[string][]byte, error) {
	a := m.assignor(resp.Protocol)
	if a == nil {
		return nil, fmt.Errorf("%w: group chose %q", group.ErrInconsistentProtocol, resp.Protocol)
	}
	var subs []group.Subscription
	counts := map[string]int32{}
	watched := map[string]int32{} // every member's topics, 0 for those not created yet
	for _, mem := range resp.Members {
		s, err := group.DecodeSubscription(mem.MemberID, mem.InstanceID, mem.Metadata)
		if err != nil {
			continue // a member we cannot read gets nothing
		}
		subs = append(subs, s)
		for _, t := range s.Topics {
			watched[t] = 0
			if n, err := m.c.b.PartitionCount(t); err == nil {
				counts[t], watched[t] = int32(n), int32(n)
			}
		}
	}
	m.mu.Lock()
	m.counts = watched
	m.mu.Unlock()
	plan := map[string][]byte{}
	assigned := a.Assign(subs, counts)
	for _, mem := range resp.Members {
		var data []byte
		if mem.MemberID == resp.MemberID {
			// Our own assignment keeps the sizes it was made for: see join.
			data, _ = json.Marshal(watched)
		}
		plan[mem.MemberID] = group.EncodeAssignmentData(assigned[mem.MemberID], data)
	}
	return plan, nil
}

// apply moves partitions to the new assignment: revoked ones first (the
// user may commit in OnRevoked), then the new ones from their committed
// offsets. A cooperative member that gave partitions up rejoins at once so
// they can be assigned.
func (m *member) apply(ctx context.Context, assigned []TopicPartition) error {
	m.mu.Lock()
	owned := m.owned
	m.mu.Unlock()
	revoked := minus(owned, assigned)
	added := minus(assigned, owned)
	if len(revoked) > 0 {
		_ = m.revoke(ctx, revoked) // as the eager revoke in join
		m.mu.Lock()
		m.rejoin = true
		m.mu.Unlock()
	}
	committed, err := m.api.FetchOffsets(ctx, m.c.opts.Group, added...)
	if err != nil {
		return err
	}
	m.c.mu.Lock()
	for _, tp := range added {
		m.c.addCursor(tp, true)
		if com, ok := committed[tp]; ok {
			m.c.cursors[tp].start = At(com.Offset)
		}
	}
	m.c.wakeLocked()
	m.c.mu.Unlock()
	m.mu.Lock()
	m.owned = slices.Clone(assigned)
	m.mu.Unlock()
	if len(added) > 0 && m.c.opts.OnAssigned != nil {
		m.c.opts.OnAssigned(ctx, m.c, added)
	}
	return nil
}

// revoke gives partitions up: auto-commits their positions, calls
// OnRevoked, then stops fetching them.
func (m *member) revoke(ctx context.Context, tps []TopicPartition) error {
	var err error
	if m.c.opts.autoCommit() {
		err = m.c.commitPositions(ctx, tps)
	}
	if m.c.opts.OnRevoked != nil {
		m.c.opts.OnRevoked(ctx, m.c, tps)
	}
	m.drop(tps)
	return err
}

// dropLost handles partitions the coordinator took away: no commit is
// possible, OnLost (or OnRevoked) is told, and they stop being fetched.
func (m *member) dropLost(ctx context.Context) {
	m.mu.Lock()
	lost, owned := m.lost, m.owned
	m.lost = false
	m.mu.Unlock()
	if !lost || len(owned) == 0 {
		return
	}
	if cb := m.c.opts.OnLost; cb != nil {
		cb(ctx, m.c, owned)
	} else if cb := m.c.opts.OnRevoked; cb != nil {
		cb(ctx, m.c, owned)
	}
	m.drop(owned)
}

func (m *member) drop(tps []TopicPartition) {
	m.c.mu.Lock()
	for _, tp := range tps {
		delete(m.c.cursors, tp)
	}
	m.c.order = slices.DeleteFunc(m.c.order, func(tp TopicPartition) bool { return slices.Contains(tps, tp) })
	m.c.mu.Unlock()
	m.mu.Lock()
	m.owned = minus(m.owned, tps)
	m.mu.Unlock()
}

// leave ends membership on Close: commit, revoke, leave (static members
// stay, so a restart within the session timeout keeps the assignment).
// It returns the commit's error: the positions since the last commit were
// not stored, so the partitions' next owner reads those records again.
func (m *member) leave(ctx context.Context) error {
	close(m.stop)
	<-m.done
	// Partitions the group took away (the member was fenced, timed out,
	// or left for not polling) are lost, as Kafka's close says with
	// onPartitionsLost: nothing to commit or revoke.
	m.dropLost(ctx)
	m.mu.Lock()
	id, owned, fenced := m.id, m.owned, m.fenced != nil
	m.mu.Unlock()
	if fenced || id == "" {
		return nil
	}
	var err error
	if len(owned) > 0 {
		if err = m.revoke(ctx, owned); err != nil {
			err = fmt.Errorf("cairn: committing positions of group %q on close: %w", m.c.opts.Group, err)
		}
	}
	if m.c.opts.InstanceID == "" {
		_ = m.api.LeaveGroup(ctx, m.c.opts.Group, group.MemberIdentity{MemberID: id})
	}
	return err
}

// checkTopics flags a rejoin on the leader when the partition count of a
// topic any member subscribes to changed, so new partitions get assigned;
// as in Kafka, the leader watches the whole group's subscription (it
// watched only its own topics, and a follower's never grew).
func (m *member) checkTopics() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leader || m.id == "" {
		return
	}
	for t, was := range m.counts {
		n, err := m.c.b.PartitionCount(t)
		if errors.Is(err, topic.ErrUnknownTopic) {
			// Deleted (or not created yet, as plan counts it): no
			// partitions, as Kafka's metadata, so a deletion rebalances.
			n, err = 0, nil
		}
		if err == nil && int32(n) != was {
			m.rejoin = true
			return
		}
	}
}

func minus(a, b []TopicPartition) []TopicPartition {
	var out []TopicPartition
	for _, tp := range a {
		if !slices.Contains(b, tp) {
			out = append(out, tp)
		}
	}
	return out
}

// identity returns what a commit must carry.
func (m *member) identity() (id string, generation int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.id == "" {
		return "", -2 // no membership: a commit is refused as unknown
	}
	return m.id, m.generation
}

var errNoGroup = fmt.Errorf("%w: consumer has no group", partition.ErrInvalidArgument)
