package group

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ProtocolType of consumer groups, as in Kafka.
const ConsumerProtocol = "consumer"

// Subscription is a consumer member's metadata: the topics it wants and,
// for cooperative rebalancing, the partitions it owns now.
type Subscription struct {
	MemberID   string
	InstanceID string
	Topics     []string
	Owned      []TopicPartition
	// Generation of the owned partitions, to settle stale claims.
	Generation int32
}

// Assignor computes a consumer group's assignment on the leader, as
// Kafka's client-side partition assignors do.
type Assignor interface {
	// Name is the protocol name Kafka clients use for it.
	Name() string
	// Cooperative assignors move a partition in two rebalances: the old
	// owner revokes it first, then it is assigned.
	Cooperative() bool
	// Assign maps member ids to partitions; counts has each topic's
	// partition count.
	Assign(members []Subscription, counts map[string]int32) map[string][]TopicPartition
}

// Range returns Kafka's "range" assignor: per topic, contiguous ranges of
// partitions to members in member id order.
func Range() Assignor { return rangeAssignor{} }

// RoundRobin returns Kafka's "roundrobin" assignor: all partitions dealt
// to members in turn.
func RoundRobin() Assignor { return roundRobin{} }

// CooperativeSticky returns Kafka's "cooperative-sticky" assignor: a
// balanced assignment that keeps members' partitions where it can and moves
// the rest incrementally.
func CooperativeSticky() Assignor { return sticky{} }

// AssignorByName returns a built-in assignor by its Kafka name.
func AssignorByName(name string) (Assignor, bool) {
	for _, a := range []Assignor{Range(), RoundRobin(), CooperativeSticky()} {
		if a.Name() == name {
			return a, true
		}
	}
	return nil, false
}

type rangeAssignor struct{}

func (rangeAssignor) Name() string      { return "range" }
func (rangeAssignor) Cooperative() bool { return false }

func (rangeAssignor) Assign(members []Subscription, counts map[string]int32) map[string][]TopicPartition {
	out := map[string][]TopicPartition{}
	for _, t := range sortedTopics(counts) {
		subs := subscribers(members, t)
		if len(subs) == 0 {
			continue
		}
		n, m := int(counts[t]), len(subs)
		p := 0
		for i, id := range subs {
			share := n / m
			if i < n%m {
				share++
			}
			for j := 0; j < share; j++ {
				out[id] = append(out[id], TopicPartition{t, int32(p)})
				p++
			}
		}
	}
	return out
}

type roundRobin struct{}

func (roundRobin) Name() string      { return "roundrobin" }
func (roundRobin) Cooperative() bool { return false }

func (roundRobin) Assign(members []Subscription, counts map[string]int32) map[string][]TopicPartition {
	out := map[string][]TopicPartition{}
	sorted := sortedMembers(members)
	next := 0
	for _, tp := range allPartitions(counts) {
		for k := 0; k < len(sorted); k++ {
			s := sorted[(next+k)%len(sorted)]
			if slices.Contains(s.Topics, tp.Topic) {
				out[s.MemberID] = append(out[s.MemberID], tp)
				next = (next + k + 1) % len(sorted)
				break
			}
		}
	}
	return out
}

type sticky struct{}

func (sticky) Name() string      { return "cooperative-sticky" }
func (sticky) Cooperative() bool { return true }

// Assign keeps each member's valid owned partitions, deals the rest to the
// least loaded members, then moves partitions from more to less loaded
// members while that narrows the gap, and holds back partitions that change
// owner until their old owner has revoked them.
//
// Kafka's constrainedAssign uses quotas only when all subscriptions are
// equal; with unequal ones quotas over all partitions make members drop
// partitions that come back or move on in the next rebalance, for many
// rebalances. Moving a partition only when its new owner has at least two
// fewer leaves nothing for the next rebalance to undo.
func (sticky) Assign(members []Subscription, counts map[string]int32) map[string][]TopicPartition {
	sorted := sortedMembers(members)
	// Newer claims win when two members claim a partition.
	byGen := slices.Clone(sorted)
	slices.SortStableFunc(byGen, func(a, b Subscription) int { return cmp.Compare(b.Generation, a.Generation) })
	owner := map[TopicPartition]string{}
	prevOwner := map[TopicPartition]string{}
	load := map[string]int{}
	for _, s := range byGen {
		for _, tp := range sortedTPs(s.Owned) {
			// A claim on a partition that does not exist (a Kafka
			// client's metadata may say anything) is not kept.
			if _, taken := prevOwner[tp]; taken || tp.Partition < 0 || tp.Partition >= counts[tp.Topic] || !slices.Contains(s.Topics, tp.Topic) {
				continue
			}
			prevOwner[tp] = s.MemberID
			owner[tp] = s.MemberID
			load[s.MemberID]++
		}
	}
	subs := map[string][]string{}
	for t := range counts {
		subs[t] = subscribers(sorted, t)
	}
	// leastLoaded returns the least loaded subscriber of tp's topic, the
	// partition's current owner on a tie.
	leastLoaded := func(tp TopicPartition) string {
		best := ""
		for _, id := range subs[tp.Topic] {
			if best == "" || load[id] < load[best] || load[id] == load[best] && owner[tp] == id {
				best = id
			}
		}
		return best
	}
	all := allPartitions(counts)
	for _, tp := range all {
		if _, ok := owner[tp]; ok {
			continue
		}
		if best := leastLoaded(tp); best != "" {
			owner[tp] = best
			load[best]++
		}
	}
	// Balance: each move narrows a gap of two or more, so this ends.
	for moved := true; moved; {
		moved = false
		for i := len(all) - 1; i >= 0; i-- {
			tp := all[i]
			from, ok := owner[tp]
			if !ok {
				continue
			}
			if to := leastLoaded(tp); load[to] < load[from]-1 {
				owner[tp] = to
				load[from]--
				load[to]++
				moved = true
			}
		}
	}
	out := map[string][]TopicPartition{}
	for _, tp := range all {
		id, ok := owner[tp]
		if !ok {
			continue
		}
		if prev, ok := prevOwner[tp]; ok && prev != id {
			continue // its owner revokes it first; assigned next rebalance
		}
		out[id] = append(out[id], tp)
	}
	return out
}

func sortedMembers(members []Subscription) []Subscription {
	s := slices.Clone(members)
	slices.SortFunc(s, func(a, b Subscription) int { return cmp.Compare(memberKey(a), memberKey(b)) })
	return s
}

// memberKey orders members: static members by instance id, so a restart
// keeps its place, others by member id.
func memberKey(s Subscription) string {
	if s.InstanceID != "" {
		return s.InstanceID
	}
	return s.MemberID
}

func subscribers(members []Subscription, topic string) []string {
	var ids []string
	for _, s := range sortedMembers(members) {
		if slices.Contains(s.Topics, topic) {
			ids = append(ids, s.MemberID)
		}
	}
	return ids
}

func sortedTopics(counts map[string]int32) []string {
	ts := make([]string, 0, len(counts))
	for t := range counts {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

func allPartitions(counts map[string]int32) []TopicPartition {
	var out []TopicPartition
	for _, t := range sortedTopics(counts) {
		for p := int32(0); p < counts[t]; p++ {
			out = append(out, TopicPartition{t, p})
		}
	}
	return out
}

func sortedTPs(tps []TopicPartition) []TopicPartition {
	s := slices.Clone(tps)
	slices.SortFunc(s, TopicPartition.Compare)
	return s
}

// EncodeSubscription encodes consumer member metadata as Kafka clients do
// (ConsumerProtocolSubscription v2), so in-process consumers and Kafka
// clients can share a group.
func EncodeSubscription(topics []string, owned []TopicPartition, generation int32) []byte {
	m := kmsg.ConsumerMemberMetadata{Version: 2, Topics: topics, Generation: generation}
	for _, t := range groupByTopic(owned) {
		m.OwnedPartitions = append(m.OwnedPartitions, kmsg.ConsumerMemberMetadataOwnedPartition{Topic: t.Topic, Partitions: t.Partitions})
	}
	return m.AppendTo(nil)
}

// DecodeSubscription decodes consumer member metadata.
func DecodeSubscription(memberID, instanceID string, b []byte) (Subscription, error) {
	var m kmsg.ConsumerMemberMetadata
	if err := m.ReadFrom(b); err != nil {
		// segmentio/kafka-go says v1 but writes only v0's fields (no
		// owned partitions); franz-go and Sarama read that as v0.
		if len(b) < 2 || b[0] != 0 || b[1] != 1 {
			return Subscription{}, err
		}
		m = kmsg.ConsumerMemberMetadata{}
		if m.ReadFrom(append([]byte{0, 0}, b[2:]...)) != nil {
			return Subscription{}, err
		}
	}
	s := Subscription{MemberID: memberID, InstanceID: instanceID, Topics: m.Topics, Generation: m.Generation}
	if m.Version < 2 {
		s.Generation = -1
	}
	for _, o := range m.OwnedPartitions {
		for _, p := range o.Partitions {
			s.Owned = append(s.Owned, TopicPartition{o.Topic, p})
		}
	}
	return s, nil
}

// EncodeAssignment encodes a member's partitions as Kafka clients do
// (ConsumerProtocolAssignment).
func EncodeAssignment(tps []TopicPartition) []byte {
	return EncodeAssignmentData(tps, nil)
}

// EncodeAssignmentData is EncodeAssignment with user data, which Kafka
// clients hand their assignor with the partitions.
func EncodeAssignmentData(tps []TopicPartition, userData []byte) []byte {
	a := kmsg.ConsumerMemberAssignment{Version: 0, UserData: userData}
	for _, t := range groupByTopic(tps) {
		a.Topics = append(a.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: t.Topic, Partitions: t.Partitions})
	}
	return a.AppendTo(nil)
}

// AssignmentUserData returns an assignment's user data (nil if none or
// undecodable).
func AssignmentUserData(b []byte) []byte {
	var a kmsg.ConsumerMemberAssignment
	if len(b) == 0 || a.ReadFrom(b) != nil {
		return nil
	}
	return a.UserData
}

// DecodeAssignment decodes a member's partitions.
func DecodeAssignment(b []byte) ([]TopicPartition, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(b); err != nil {
		return nil, err
	}
	var out []TopicPartition
	for _, t := range a.Topics {
		for _, p := range t.Partitions {
			out = append(out, TopicPartition{t.Topic, p})
		}
	}
	return out, nil
}

// ownedPartitions decodes a consumer group member's assignment; ok is false
// for other protocol types or undecodable bytes.
func ownedPartitions(protocolType string, assignment []byte) (map[TopicPartition]bool, bool) {
	if protocolType != ConsumerProtocol {
		return nil, false
	}
	tps, err := DecodeAssignment(assignment)
	if err != nil {
		return nil, false
	}
	out := make(map[TopicPartition]bool, len(tps))
	for _, tp := range tps {
		out[tp] = true
	}
	return out, true
}

type topicParts struct {
	Topic      string
	Partitions []int32
}

func groupByTopic(tps []TopicPartition) []topicParts {
	var out []topicParts
	for _, tp := range sortedTPs(tps) {
		if n := len(out); n > 0 && out[n-1].Topic == tp.Topic {
			out[n-1].Partitions = append(out[n-1].Partitions, tp.Partition)
			continue
		}
		out = append(out, topicParts{tp.Topic, []int32{tp.Partition}})
	}
	return out
}
