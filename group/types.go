package group

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// State is a group's place in the classic rebalance protocol.
type State int8

// The states of Kafka's classic group protocol.
const (
	Empty State = iota
	PreparingRebalance
	CompletingRebalance
	Stable
	Dead
)

func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	case Dead:
		return "Dead"
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Compare orders partitions by topic, then partition number, for
// slices.SortFunc.
func (a TopicPartition) Compare(b TopicPartition) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

// Protocol is one assignment protocol a member supports (for consumers, an
// assignor name and its subscription metadata).
type Protocol struct {
	Name     string
	Metadata []byte
}

// JoinRequest asks to join (or rejoin) a group.
type JoinRequest struct {
	Group string
	// MemberID is empty for a new member.
	MemberID string
	// InstanceID makes the member static: a restart with the same id
	// within the session timeout takes its place without a rebalance.
	// The incarnation it replaced is fenced (ErrFencedInstanceID) from
	// then on, JoinGroup included, as in Kafka.
	InstanceID   string
	ProtocolType string
	// Protocols in order of preference.
	Protocols        []Protocol
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	// RequireKnownMemberID makes a new member's first join fail with
	// ErrMemberIDRequired and its id, as Kafka does for JoinGroup v4+.
	RequireKnownMemberID bool
	// ClientID is informational, shown by Describe.
	ClientID string
}

// Member is a group member as the leader and Describe see it.
type Member struct {
	MemberID   string
	InstanceID string
	ClientID   string
	// Metadata is the member's metadata for the chosen protocol.
	Metadata []byte
	// Assignment is what the leader assigned to the member.
	Assignment []byte
}

// JoinResponse completes a join: the generation, the chosen protocol, the
// leader, and (for the leader only) every member's metadata.
type JoinResponse struct {
	Generation   int32
	ProtocolType string
	Protocol     string
	LeaderID     string
	MemberID     string
	Members      []Member
	// SkipAssignment tells a static leader back in a Stable group that
	// the group keeps its assignment whatever plan it syncs (Kafka's
	// KIP-814); PreviousLeaderID is its member id before, which Kafka
	// names as leader to clients that cannot skip (JoinGroup before v9).
	SkipAssignment   bool
	PreviousLeaderID string
}

// SyncRequest ends a rebalance: the leader sends the assignments, every
// member gets its own back.
type SyncRequest struct {
	Group      string
	MemberID   string
	InstanceID string
	Generation int32
	// Assignments by member id; only the leader's are used.
	Assignments map[string][]byte
	// ProtocolType and Protocol, when set, must be the group's (Kafka's
	// SyncGroup v5 checks them): ErrInconsistentProtocol otherwise.
	ProtocolType, Protocol string
}

// HeartbeatRequest keeps a member's session alive.
type HeartbeatRequest struct {
	Group      string
	MemberID   string
	InstanceID string
	Generation int32
}

// MemberIdentity names a member leaving: by member id, or by instance id
// for static members.
type MemberIdentity struct {
	MemberID   string
	InstanceID string
}

// Committed is a committed offset: the next offset to consume, and the
// committer's metadata.
type Committed struct {
	Offset   int64
	Metadata string
	// Time is when the offset was committed, to the millisecond as it is
	// stored, so it reads back the same after a reopen. It may be earlier
	// than a time.Now taken just before the commit.
	Time time.Time
}

// CommitRequest commits offsets. A member of the group gives its member
// id and generation; a consumer outside any group commits with an empty
// member id and generation -1, allowed only while the group has no members.
type CommitRequest struct {
	Group      string
	MemberID   string
	InstanceID string
	Generation int32
	Offsets    map[TopicPartition]Committed
	// AnyPartition skips the check that the member owns each partition.
	// Kafka brokers do not check ownership, so the Kafka listener sets it
	// for its clients; generation fencing still applies.
	AnyPartition bool
}

// API is the group protocol as consumers use it. *Coordinator implements
// it in-process; the Kafka listener drives the same Coordinator.
type API interface {
	JoinGroup(ctx context.Context, req JoinRequest) (JoinResponse, error)
	SyncGroup(ctx context.Context, req SyncRequest) ([]byte, error)
	Heartbeat(ctx context.Context, req HeartbeatRequest) error
	LeaveGroup(ctx context.Context, group string, members ...MemberIdentity) error
	CommitOffsets(ctx context.Context, req CommitRequest) error
	FetchOffsets(ctx context.Context, group string, partitions ...TopicPartition) (map[TopicPartition]Committed, error)
}
