// Package group is the consumer group coordinator: Kafka's classic group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed offsets,
// and the client-side assignors (range, roundrobin, cooperative-sticky).
//
// The coordinator runs one state machine per group (Empty,
// PreparingRebalance, CompletingRebalance, Stable, Dead) behind the group's
// own mutex; session and rebalance timeouts are runtime timers, so the
// coordinator owns no goroutine. In-process consumers (package consumer)
// and, through the Kafka listener, Kafka clients drive the same
// Coordinator, so one group can mix both. Member metadata and assignments
// use Kafka's consumer protocol encoding.
//
// Commits are fenced: a member that is unknown, of an older generation, or
// committing a partition not assigned to it gets ErrUnknownMemberID,
// ErrIllegalGeneration or ErrNotAssigned and nothing changes; only a
// commit of generation -1 (outside group management) into a group without
// members is taken whatever its member id, as in Kafka. Offsets are
// stored in Pebble and survive restarts; groups come back Empty and members
// rejoin.
//
// # Usage
//
// Most programs use consumer.Options{Group: "billing", Topics: ...}. The
// coordinator's admin calls are on Broker.Groups():
//
//	groups := broker.Groups()
//	list, err := groups.ListGroups(ctx)
//	desc, err := groups.DescribeGroup(ctx, "billing") // members, assignments, state
//	lag, err := groups.Lag(ctx, "billing")            // high watermark - committed
//	err = groups.ResetOffsets(ctx, "billing", group.ToEarliest(), tps...) // group must be empty
//	err = groups.DeleteGroup(ctx, "billing")                              // group must be empty
package group
