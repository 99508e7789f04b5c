package group

import (
	"errors"
	"fmt"
)

// Errors of the group coordinator, named as Kafka's error codes so the
// Kafka listener can map them one to one. Match them with errors.Is.
var (
	// ErrInvalidGroupID reports an empty group id (taken, as Kafka, only
	// by the offset calls, DescribeGroup and DeleteGroup) or one over
	// 32,767 bytes.
	ErrInvalidGroupID = errors.New("cairn: invalid group id")
	// ErrUnknownGroup reports a group that does not exist (Kafka's
	// GROUP_ID_NOT_FOUND).
	ErrUnknownGroup = errors.New("cairn: unknown group")
	// ErrUnknownMemberID reports a member the group does not know, for
	// example one removed after its session timed out.
	ErrUnknownMemberID = errors.New("cairn: unknown member id")
	// ErrIllegalGeneration reports a request from an older generation: a
	// zombie member fenced by a rebalance. Its commit changes nothing.
	ErrIllegalGeneration = errors.New("cairn: illegal generation")
	// ErrRebalanceInProgress tells a member to rejoin the group.
	ErrRebalanceInProgress = errors.New("cairn: rebalance in progress")
	// ErrMemberIDRequired is returned to a new member's first join with
	// the member id it must join again with (Kafka's KIP-394).
	ErrMemberIDRequired = errors.New("cairn: member id required")
	// ErrInconsistentProtocol reports a member whose protocol type or
	// protocols share nothing with the group's.
	ErrInconsistentProtocol = errors.New("cairn: inconsistent group protocol")
	// ErrFencedInstanceID reports a static member replaced by a newer
	// instance with the same instance id.
	ErrFencedInstanceID = errors.New("cairn: fenced instance id")
	// ErrInvalidSessionTimeout reports a session timeout outside the
	// coordinator's bounds.
	ErrInvalidSessionTimeout = errors.New("cairn: invalid session timeout")
	// ErrNonEmptyGroup reports an admin change (delete, reset offsets) to a
	// group that still has members.
	ErrNonEmptyGroup = errors.New("cairn: group is not empty")
	// ErrNotAssigned reports a commit for a partition the member does not
	// own in the current generation.
	ErrNotAssigned = errors.New("cairn: partition not assigned to member")
	// ErrInvalidOffset reports a negative offset in a commit or reset.
	ErrInvalidOffset = errors.New("cairn: invalid offset")
)

// PartitionError is a group error about one partition.
type PartitionError struct {
	Group     string
	Topic     string
	Partition int32
	Err       error
}

func (e *PartitionError) Error() string {
	return fmt.Sprintf("%v: group %q, %s/%d", e.Err, e.Group, e.Topic, e.Partition)
}

func (e *PartitionError) Unwrap() error { return e.Err }
