package cairn

import (
	"context"
	"errors"
	"maps"

	"github.com/cairnlog/cairn/group"
)

// Groups returns the broker's consumer group coordinator, for admin calls:
// ListGroups, DescribeGroup, Lag, DeleteGroup, ResetOffsets. Commit through
// Broker.CommitOffsets, which refuses topics that do not exist: Open
// removes commits of such topics, as the leftovers of a DeleteTopic a
// crash cut short.
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
// A topic or partition that does not exist is refused (ErrUnknownTopic,
// ErrUnknownPartition), as Kafka: the commit's other partitions are still
// stored, and the unknown one's error is returned.
func (b *Broker) CommitOffsets(ctx context.Context, req group.CommitRequest) error {
	// As Kafka (UNKNOWN_TOPIC_OR_PARTITION): a commit for a deleted
	// topic would be inherited by one created again under its name.
	// As Kafka, the error is the unknown partition's own: the others of
	// the commit (a final commit on Close, say) are still stored.
	b.topicMu.RLock() // no DeleteTopic between the check and the commit
	defer b.topicMu.RUnlock()
	var unknown error
	offsets := req.Offsets
	for tp := range req.Offsets {
		_, err := b.Partition(tp.Topic, tp.Partition)
		switch {
		case errors.Is(err, ErrUnknownTopic) || errors.Is(err, ErrUnknownPartition):
			if unknown == nil {
				unknown, offsets = err, maps.Clone(req.Offsets)
			}
			delete(offsets, tp)
		case err != nil:
			return err
		}
	}
	if unknown != nil && len(offsets) == 0 {
		return unknown
	}
	req.Offsets = offsets
	if err := b.groups.CommitOffsets(ctx, req); err != nil {
		return err
	}
	return unknown
}

// FetchOffsets returns a group's committed offsets; see
// group.Coordinator.FetchOffsets.
func (b *Broker) FetchOffsets(ctx context.Context, groupID string, tps ...group.TopicPartition) (map[group.TopicPartition]group.Committed, error) {
	return b.groups.FetchOffsets(ctx, groupID, tps...)
}

// forgetDeletedTopics removes the groups' commits of topics that do not
// exist. DeleteTopic deletes the topic, then its commits, in two writes: a
// crash between them left the commits, and a topic created again under
// the name inherited them (its consumers skipped its first records), which
// DeleteTopic promises never happens. A commit for a topic that does not
// exist is refused (CommitOffsets), so any found here are such leftovers.
func (b *Broker) forgetDeletedTopics() error {
	ctx := context.Background()
	listed, err := b.groups.ListGroups(ctx)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, l := range listed {
		offsets, err := b.groups.FetchOffsets(ctx, l.Group)
		if err != nil {
			return err
		}
		for tp := range offsets {
			if _, err := b.topics.Get(tp.Topic); err != nil {
				gone[tp.Topic] = true
			}
		}
	}
	for name := range gone {
		if err := b.groups.ForgetTopic(name); err != nil {
			return err
		}
	}
	return nil
}
