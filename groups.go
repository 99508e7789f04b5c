package cairn

import (
	"context"

	"github.com/cairnlog/cairn/group"
)

// Groups returns the broker's consumer group coordinator, for admin calls:
// ListGroups, DescribeGroup, Lag, DeleteGroup, ResetOffsets.
func (b *Broker) Groups() *group.Coordinator { return b.groups }

// The group protocol, delegated to the coordinator so that *Broker is a
// consumer.GroupBroker.

// JoinGroup joins a consumer group; see group.Coordinator.JoinGroup.
func (b *Broker) JoinGroup(ctx context.Context, req group.JoinRequest) (group.JoinResponse, error) {
	return b.groups.JoinGroup(ctx, req)
}

// SyncGroup completes a rebalance; see group.Coordinator.SyncGroup.
func (b *Broker) SyncGroup(ctx context.Context, req group.SyncRequest) ([]byte, error) {
	return b.groups.SyncGroup(ctx, req)
}

// Heartbeat keeps a group member alive; see group.Coordinator.Heartbeat.
func (b *Broker) Heartbeat(ctx context.Context, req group.HeartbeatRequest) error {
	return b.groups.Heartbeat(ctx, req)
}

// LeaveGroup removes group members; see group.Coordinator.LeaveGroup.
func (b *Broker) LeaveGroup(ctx context.Context, groupID string, members ...group.MemberIdentity) error {
	return b.groups.LeaveGroup(ctx, groupID, members...)
}

// CommitOffsets commits a group's offsets; see group.Coordinator.CommitOffsets.
func (b *Broker) CommitOffsets(ctx context.Context, req group.CommitRequest) error {
	// As Kafka (UNKNOWN_TOPIC_OR_PARTITION): a commit for a deleted
	// topic would be inherited by one created again under its name.
	for tp := range req.Offsets {
		if _, err := b.Partition(tp.Topic, tp.Partition); err != nil {
			return err
		}
	}
	return b.groups.CommitOffsets(ctx, req)
}

// FetchOffsets returns a group's committed offsets; see
// group.Coordinator.FetchOffsets.
func (b *Broker) FetchOffsets(ctx context.Context, groupID string, tps ...group.TopicPartition) (map[group.TopicPartition]group.Committed, error) {
	return b.groups.FetchOffsets(ctx, groupID, tps...)
}
