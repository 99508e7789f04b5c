package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cairnlog/cairn/partition"
)

// group is one group's state machine; mu guards all of it.
type group struct {
	c  *Coordinator
	id string

	mu           sync.Mutex
	state        State
	generation   int32
	protocolType string
	protocol     string
	leader       string
	members      map[string]*member
	statics      map[string]string    // instance id -> member id
	pending      map[string]time.Time // ids handed out by ErrMemberIDRequired
	pendingNext  time.Time            // the earliest expiry in pending (zero: none)
	rebalance    *time.Timer          // ends the join phase
	delaying     bool                 // the initial rebalance delay runs
	offsets      map[TopicPartition]Committed
	closed       bool
}

type member struct {
	id, instance, clientID string
	protocols              []Protocol
	session, rebalance     time.Duration
	assignment             []byte
	prev                   []byte // what the member held when this generation began
	// delivered is the last assignment a SyncGroup returned to the
	// member: what it holds. A generation whose sync it missed (a new
	// rebalance began first) never reached it, so prev is taken from
	// delivered, not from that generation's assignment: a member that
	// still held a partition from the generation before was refused its
	// commit before revoking it, and the next owner reread its records.
	delivered []byte

	joinCh  chan joinResult // set while the member waits in a join
	syncCh  chan syncResult // set while the member waits in a sync
	timer   *time.Timer     // session expiry
	timerID uint64          // tells a stale timer fire from the current one
	// unsynced is set from the end of a join until the member's
	// SyncGroup: a member that does not sync within the rebalance
	// timeout is removed, as Kafka's pending-sync timeout (KAFKA-12890).
	unsynced bool
}

type joinResult struct {
	resp JoinResponse
	err  error
}

type syncResult struct {
	assignment []byte
	err        error
}

func newGroup(c *Coordinator, id string) *group {
	return &group{c: c, id: id, members: map[string]*member{}, statics: map[string]string{},
		pending: map[string]time.Time{}, offsets: map[TopicPartition]Committed{}}
}

// newMemberID names a member as Kafka does: a static member's id starts
// with its instance id and "-" (clients such as franz-go tell by it that a
// JoinGroup before v9 naming its old id as leader means it still leads).
func newMemberID(req JoinRequest) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	prefix := req.ClientID
	if req.InstanceID != "" {
		prefix = req.InstanceID
	}
	if prefix == "" {
		prefix = "member"
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}

// join handles a JoinGroup and waits for its outcome.
func (g *group) join(ctx context.Context, req JoinRequest) (JoinResponse, error) {
	g.mu.Lock()
	ch, resp, err := g.joinLocked(req)
	g.mu.Unlock()
	if ch == nil {
		return resp, err
	}
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-ctx.Done():
		// The member stays in the group; the rebalance timeout or its
		// session removes it if it does not come back.
		return JoinResponse{}, ctx.Err()
	}
}

// expirePending forgets the member ids handed out with
// ErrMemberIDRequired whose session passed without the client coming back
// (kept for good, one per request, they let any client grow the group's
// memory without bound). It walks pending only once its earliest expiry
// has passed; mu is held.
func (g *group) expirePending() {
	now := time.Now()
	if g.pendingNext.IsZero() || now.Before(g.pendingNext) {
		return
	}
	g.pendingNext = time.Time{}
	for id, exp := range g.pending {
		if now.After(exp) {
			delete(g.pending, id)
		} else if g.pendingNext.IsZero() || exp.Before(g.pendingNext) {
			g.pendingNext = exp
		}
	}
}

// joinLocked returns a channel to wait on, or an immediate answer.
func (g *group) joinLocked(req JoinRequest) (chan joinResult, JoinResponse, error) {
	if g.closed {
		return nil, JoinResponse{}, partition.ErrClosed
	}
	if g.state == Dead {
		return nil, JoinResponse{}, errDeleted
	}
	if len(g.members) > 0 && (req.ProtocolType != g.protocolType || !g.supportsAny(req.Protocols)) {
		return nil, JoinResponse{}, fmt.Errorf("%w: group %q uses %q", ErrInconsistentProtocol, g.id, g.protocolType)
	}
	if req.MemberID == "" && req.InstanceID != "" {
		if old, ok := g.statics[req.InstanceID]; ok {
			return g.rejoinStatic(req, old)
		}
	}
	if req.MemberID != "" && req.InstanceID != "" {
		// As Kafka: an old incarnation, replaced by a restart, is fenced.
		// Told its member id is unknown, it dropped its id and joined with
		// the instance id alone, fencing the live incarnation instead.
		if cur, ok := g.statics[req.InstanceID]; ok && cur != req.MemberID {
			return nil, JoinResponse{}, fmt.Errorf("%w: %q", ErrFencedInstanceID, req.InstanceID)
		}
	}
	m, isNew := g.members[req.MemberID], false
	switch {
	case req.MemberID == "":
		id := newMemberID(req)
		if req.RequireKnownMemberID && req.InstanceID == "" {
			g.expirePending()
			exp := time.Now().Add(req.SessionTimeout)
			g.pending[id] = exp
			if g.pendingNext.IsZero() || exp.Before(g.pendingNext) {
				g.pendingNext = exp
			}
			return nil, JoinResponse{MemberID: id}, ErrMemberIDRequired
		}
		req.MemberID, isNew = id, true
	case m == nil:
		if exp, ok := g.pending[req.MemberID]; !ok || time.Now().After(exp) {
			return nil, JoinResponse{}, fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, req.MemberID, g.id)
		}
		delete(g.pending, req.MemberID)
		isNew = true
	case m.instance != req.InstanceID:
		return nil, JoinResponse{}, fmt.Errorf("%w: %q", ErrFencedInstanceID, req.InstanceID)
	}
	if isNew {
		m = &member{id: req.MemberID, instance: req.InstanceID}
		g.members[m.id] = m
		if m.instance != "" {
			g.statics[m.instance] = m.id
		}
	}
	changed := isNew || !sameProtocols(m.protocols, req.Protocols)
	m.protocols, m.clientID = req.Protocols, req.ClientID
	m.session, m.rebalance = req.SessionTimeout, req.RebalanceTimeout
	if len(g.members) == 1 {
		g.protocolType = req.ProtocolType
	}
	if m.joinCh != nil { // a second join while the first waits replaces it
		m.joinCh <- joinResult{err: fmt.Errorf("%w: superseded by a newer join", ErrRebalanceInProgress)}
	}
	ch := make(chan joinResult, 1)
	m.joinCh = ch
	if (g.state == Stable || g.state == CompletingRebalance) && !changed && m.id != g.leader {
		// Nothing changed: answer with the current generation.
		m.joinCh = nil
		g.touch(m)
		return nil, g.joinResponse(m), nil
	}
	g.stopTimer(m) // the rebalance timeout governs while joining
	if g.state != PreparingRebalance {
		g.prepareRebalance()
	}
	g.maybeCompleteJoin()
	return ch, JoinResponse{}, nil
}

// rejoinStatic lets a restarted static member take its old place under a
// new member id; the old id is fenced.
func (g *group) rejoinStatic(req JoinRequest, oldID string) (chan joinResult, JoinResponse, error) {
	old := g.members[oldID]
	m := &member{id: newMemberID(req), instance: req.InstanceID, clientID: req.ClientID,
		protocols: req.Protocols, session: req.SessionTimeout, rebalance: req.RebalanceTimeout,
		assignment: old.assignment, prev: old.prev, delivered: old.delivered}
	g.stopTimer(old)
	fence := fmt.Errorf("%w: %q rejoined", ErrFencedInstanceID, req.InstanceID)
	if old.joinCh != nil {
		old.joinCh <- joinResult{err: fence}
	}
	if old.syncCh != nil {
		old.syncCh <- syncResult{err: fence}
	}
	delete(g.members, oldID)
	g.members[m.id] = m
	g.statics[m.instance] = m.id
	if g.leader == oldID {
		g.leader = m.id
	}
	if g.state == Stable && sameSubscription(g.protocolType, old.protocols, req.Protocols) {
		g.touch(m)
		r := g.joinResponse(m)
		if m.id == g.leader {
			r.SkipAssignment, r.PreviousLeaderID = true, oldID
		}
		return nil, r, nil
	}
	ch := make(chan joinResult, 1)
	m.joinCh = ch
	if g.state != PreparingRebalance {
		g.prepareRebalance()
	}
	g.maybeCompleteJoin()
	return ch, JoinResponse{}, nil
}

func (g *group) joinResponse(m *member) JoinResponse {
	r := JoinResponse{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol,
		LeaderID: g.leader, MemberID: m.id}
	if m.id == g.leader {
		for _, id := range g.sortedMembers() {
			o := g.members[id]
			r.Members = append(r.Members, Member{MemberID: o.id, InstanceID: o.instance,
				ClientID: o.clientID, Metadata: o.metadata(g.protocol)})
		}
	}
	return r
}

func (g *group) sortedMembers() []string {
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (m *member) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func sameProtocols(a, b []Protocol) bool {
	return slices.EqualFunc(a, b, func(x, y Protocol) bool {
		return x.Name == y.Name && string(x.Metadata) == string(y.Metadata)
	})
}

// sameSubscription reports whether a restarted static member asks for
// what its old incarnation did. A consumer's metadata also carries the
// partitions it owned and its generation: the old incarnation's state, which
// a restarted consumer does not have, not a change (comparing them made
// every restart in a group that had rebalanced rebalance again).
func sameSubscription(protocolType string, a, b []Protocol) bool {
	if protocolType != ConsumerProtocol {
		return sameProtocols(a, b)
	}
	return slices.EqualFunc(a, b, func(x, y Protocol) bool {
		sx, errX := DecodeSubscription("", "", x.Metadata)
		sy, errY := DecodeSubscription("", "", y.Metadata)
		if errX != nil || errY != nil {
			return x.Name == y.Name && string(x.Metadata) == string(y.Metadata)
		}
		return x.Name == y.Name && slices.Equal(slices.Sorted(slices.Values(sx.Topics)), slices.Sorted(slices.Values(sy.Topics)))
	})
}

// supportsAny reports whether every member supports one of ps.
func (g *group) supportsAny(ps []Protocol) bool {
	for _, p := range ps {
		if g.allSupport(p.Name) {
			return true
		}
	}
	return false
}

func (g *group) allSupport(name string) bool {
	for _, m := range g.members {
		if !slices.ContainsFunc(m.protocols, func(p Protocol) bool { return p.Name == name }) {
			return false
		}
	}
	return true
}

// prepareRebalance starts a join phase: members must rejoin within the
// largest rebalance timeout or be removed.
func (g *group) prepareRebalance() {
	wasEmpty := g.state == Empty
	g.state = PreparingRebalance
	for _, m := range g.members {
		if m.syncCh != nil {
			m.syncCh <- syncResult{err: ErrRebalanceInProgress}
			m.syncCh = nil
		}
	}
	timeout := time.Duration(0)
	for _, m := range g.members {
		timeout = max(timeout, m.rebalance)
	}
	if wasEmpty && g.c.opts.InitialRebalanceDelay > 0 {
		timeout, g.delaying = g.c.opts.InitialRebalanceDelay, true
	}
	g.stopRebalanceTimer()
	gen := g.generation
	g.rebalance = time.AfterFunc(timeout, func() { g.rebalanceTimedOut(gen) })
}

func (g *group) stopRebalanceTimer() {
	if g.rebalance != nil {
		g.rebalance.Stop()
		g.rebalance = nil
	}
}

// rebalanceTimedOut removes members that did not rejoin and completes the
// join with the rest.
func (g *group) rebalanceTimedOut(gen int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.state != PreparingRebalance || g.generation != gen {
		return
	}
	g.delaying = false
	for _, id := range g.sortedMembers() {
		if m := g.members[id]; m.joinCh == nil {
			g.remove(m, fmt.Errorf("%w: did not rejoin within the rebalance timeout", ErrUnknownMemberID))
		}
	}
	g.completeJoin()
}

// maybeCompleteJoin completes the join once every member has rejoined,
// unless an initial delay is running for a group that was empty.
func (g *group) maybeCompleteJoin() {
	if g.state != PreparingRebalance || g.delaying {
		return
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return
		}
	}
	g.completeJoin()
}

// completeJoin picks the protocol and leader, starts a new generation and
// answers every waiting join.
func (g *group) completeJoin() {
	g.stopRebalanceTimer()
	g.generation++
	if len(g.members) == 0 {
		g.state, g.leader, g.protocol = Empty, "", ""
		return
	}
	g.protocol = g.chooseProtocol()
	if _, ok := g.members[g.leader]; !ok {
		g.leader = g.sortedMembers()[0]
	}
	g.state = CompletingRebalance
	timeout := time.Duration(0)
	for _, m := range g.members {
		m.prev, m.assignment = m.delivered, nil
		m.joinCh <- joinResult{resp: g.joinResponse(m)}
		m.joinCh = nil
		m.unsynced = true
		timeout = max(timeout, m.rebalance)
		g.touch(m)
	}
	// Without a deadline, a member that joined and then never synced
	// (while heartbeating) held the group in CompletingRebalance for good.
	gen := g.generation
	g.rebalance = time.AfterFunc(timeout, func() { g.syncTimedOut(gen) })
}

// syncTimedOut removes the members of generation gen that have not sent
// their SyncGroup within the rebalance timeout, and rebalances the rest.
func (g *group) syncTimedOut(gen int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.generation != gen || (g.state != CompletingRebalance && g.state != Stable) {
		return
	}
	removed := false
	for _, id := range g.sortedMembers() {
		if m := g.members[id]; m.unsynced {
			g.remove(m, fmt.Errorf("%w: did not sync within the rebalance timeout", ErrUnknownMemberID))
			removed = true
		}
	}
	if removed {
		g.afterRemoval()
	}
}

// chooseProtocol picks the protocol every member supports with the most
// first-choice votes, as Kafka does.
func (g *group) chooseProtocol() string {
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if g.allSupport(p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := ""
	for _, p := range g.members[g.sortedMembers()[0]].protocols {
		if n, ok := votes[p.Name]; ok && (best == "" || n > votes[best]) {
			best = p.Name
		}
	}
	return best
}

// touch restarts a member's session timer.
func (g *group) touch(m *member) {
	g.stopTimer(m)
	m.timerID++
	id, timerID := m.id, m.timerID
	m.timer = time.AfterFunc(m.session, func() { g.sessionExpired(id, timerID) })
}

func (g *group) stopTimer(m *member) {
	// A fire already waiting for mu is stale now: without the bump it
	// removed a member that had just joined (and so stopped its timer).
	m.timerID++
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
}

func (g *group) sessionExpired(id string, timerID uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.members[id]
	if g.closed || !ok || m.timerID != timerID {
		return
	}
	if m.joinCh != nil || m.syncCh != nil {
		// As Kafka: a member waiting in a join or sync satisfies its
		// heartbeats (the rebalance timeout bounds the wait); its session
		// runs again from here.
		g.touch(m)
		return
	}
	g.remove(m, fmt.Errorf("%w: session timed out", ErrUnknownMemberID))
	g.afterRemoval()
}

// remove drops a member, failing whatever it waits on with err.
func (g *group) remove(m *member, err error) {
	g.stopTimer(m)
	if m.joinCh != nil {
		m.joinCh <- joinResult{err: err}
		m.joinCh = nil
	}
	if m.syncCh != nil {
		m.syncCh <- syncResult{err: err}
		m.syncCh = nil
	}
	delete(g.members, m.id)
	if m.instance != "" && g.statics[m.instance] == m.id {
		delete(g.statics, m.instance)
	}
}

// afterRemoval rebalances the remaining members, or completes a join
// phase that was only waiting for the removed one.
func (g *group) afterRemoval() {
	switch g.state {
	case PreparingRebalance:
		g.maybeCompleteJoin()
	case Stable, CompletingRebalance:
		g.prepareRebalance()
		g.maybeCompleteJoin()
	}
}

// sync handles a SyncGroup.
func (g *group) sync(ctx context.Context, req SyncRequest) ([]byte, error) {
	g.mu.Lock()
	m, err := g.check(req.MemberID, req.InstanceID, req.Generation)
	if err != nil {
		g.mu.Unlock()
		return nil, err
	}
	if (req.ProtocolType != "" && req.ProtocolType != g.protocolType) || (req.Protocol != "" && req.Protocol != g.protocol) {
		g.mu.Unlock()
		return nil, fmt.Errorf("%w: group %q uses %q/%q", ErrInconsistentProtocol, g.id, g.protocolType, g.protocol)
	}
	if g.state == PreparingRebalance {
		g.mu.Unlock()
		return nil, ErrRebalanceInProgress
	}
	m.unsynced = false
	switch g.state {
	case Stable:
		g.touch(m)
		a := m.assignment
		m.delivered = a
		g.mu.Unlock()
		return a, nil
	}
	g.touch(m)
	if m.id == g.leader {
		for id, o := range g.members {
			o.assignment = req.Assignments[id]
		}
		g.state = Stable
		for _, o := range g.members {
			if o.syncCh != nil {
				o.syncCh <- syncResult{assignment: o.assignment}
				o.syncCh = nil
				o.delivered = o.assignment
				g.touch(o)
			}
		}
		a := m.assignment
		m.delivered = a
		g.mu.Unlock()
		return a, nil
	}
	ch := make(chan syncResult, 1)
	m.syncCh = ch
	g.mu.Unlock()
	select {
	case r := <-ch:
		return r.assignment, r.err
	case <-ctx.Done():
		g.mu.Lock()
		if m.syncCh == ch {
			m.syncCh = nil
			m.unsynced = true // it has not got its assignment: it must sync again
		}
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}

// check validates a member's identity and generation; mu is held.
func (g *group) check(memberID, instanceID string, generation int32) (*member, error) {
	if g.closed {
		return nil, partition.ErrClosed
	}
	if instanceID != "" {
		if cur, ok := g.statics[instanceID]; ok && cur != memberID {
			return nil, fmt.Errorf("%w: %q", ErrFencedInstanceID, instanceID)
		}
	}
	m, ok := g.members[memberID]
	if !ok {
		return nil, fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, memberID, g.id)
	}
	if generation != g.generation {
		return nil, fmt.Errorf("%w: %d, group %q is at generation %d", ErrIllegalGeneration, generation, g.id, g.generation)
	}
	return m, nil
}

func (g *group) heartbeat(req HeartbeatRequest) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, err := g.check(req.MemberID, req.InstanceID, req.Generation)
	if err != nil {
		return err
	}
	g.touch(m)
	if g.state == PreparingRebalance {
		return ErrRebalanceInProgress
	}
	return nil
}

func (g *group) leave(ids []MemberIdentity) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return partition.ErrClosed
	}
	var errs []error
	removed := false
	for _, id := range ids {
		mid := id.MemberID
		if id.InstanceID != "" {
			cur, ok := g.statics[id.InstanceID]
			if mid != "" && ok && cur != mid {
				errs = append(errs, fmt.Errorf("%w: %q", ErrFencedInstanceID, id.InstanceID))
				continue
			}
			mid = cur
		}
		m, ok := g.members[mid]
		if _, pending := g.pending[mid]; !ok && pending {
			// As Kafka: a client told ErrMemberIDRequired that closes
			// before joining again leaves with that id.
			delete(g.pending, mid)
			continue
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %q in group %q", ErrUnknownMemberID, mid, g.id))
			continue
		}
		g.remove(m, fmt.Errorf("%w: left the group", ErrUnknownMemberID))
		removed = true
	}
	if removed {
		g.afterRemoval()
	}
	return errors.Join(errs...)
}

// close stops timers and fails waiters; the coordinator is closing.
func (g *group) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	g.stopRebalanceTimer()
	for _, m := range g.members {
		g.stopTimer(m)
		if m.joinCh != nil {
			m.joinCh <- joinResult{err: partition.ErrClosed}
			m.joinCh = nil
		}
		if m.syncCh != nil {
			m.syncCh <- syncResult{err: partition.ErrClosed}
			m.syncCh = nil
		}
	}
}
