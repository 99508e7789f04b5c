package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// A static consumer that takes the place of a leader whose assignment a
// Kafka client planned (same group.instance.id, Stable group) gets that
// assignment, which carries no partition counts: it watched the counts of
// now, and partitions added before it came were never assigned.
func TestStaticLeaderTakesOverForeignAssignment(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	meta := group.EncodeSubscription([]string{"t"}, nil, -1)
	protos := []group.Protocol{{Name: "cooperative-sticky", Metadata: meta}, {Name: "range", Metadata: meta}}
	// The Kafka client: the group's only member, so its leader.
	resp, err := b.Groups().JoinGroup(ctx, group.JoinRequest{Group: "g", InstanceID: "pod-1",
		ProtocolType: group.ConsumerProtocol, Protocols: protos, ClientID: "kgo",
		SessionTimeout: 5 * time.Second, RebalanceTimeout: 5 * time.Second})
	require.NoError(t, err)
	require.Equal(t, resp.MemberID, resp.LeaderID)
	all := []group.TopicPartition{{Topic: "t", Partition: 0}, {Topic: "t", Partition: 1}}
	_, err = b.Groups().SyncGroup(ctx, group.SyncRequest{Group: "g", MemberID: resp.MemberID, InstanceID: "pod-1",
		Generation: resp.Generation, Assignments: map[string][]byte{resp.MemberID: group.EncodeAssignment(all)}})
	require.NoError(t, err)
	// It goes away; partitions are added; a Cairn consumer takes its place.
	require.NoError(t, b.CreatePartitions(ctx, "t", 4))
	o := groupOpts("g", "t")
	o.InstanceID = "pod-1"
	o.SessionTimeout = 5 * time.Second
	c := newConsumer(t, b, o)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); runConsumer(runCtx, c, func(*consumer.Record) {}) }()
	defer func() { stop(); <-done }()
	ok := assertEventually(func() bool { return len(c.Assignment()) == 4 }, 3*time.Second)
	t.Logf("owns %v", c.Assignment())
	require.True(t, ok, "t/2 and t/3 are assigned")
}
