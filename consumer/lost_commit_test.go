package consumer_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// illegalAfter answers every heartbeat ErrIllegalGeneration once armed,
// without passing it on: the member's session runs out.
type illegalAfter struct {
	*cairn.Broker
	armed atomic.Bool
}

func (h *illegalAfter) Heartbeat(ctx context.Context, req group.HeartbeatRequest) error {
	if h.armed.Load() {
		return group.ErrIllegalGeneration
	}
	return h.Broker.Heartbeat(ctx, req)
}

// A member told its generation is stale has lost its partitions (the
// consumer keeps its id and generation -1). Once the group dropped it, its
// commit must be refused as a zombie's, not taken as a commit outside group
// management (generation -1) into the group left without members.
func TestLostMemberCommitIsFenced(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 5, "a")
	hb := &illegalAfter{Broker: b}
	o := groupOpts("g", "t")
	o.SessionTimeout, o.RebalanceTimeout = 200*time.Millisecond, 10*time.Second
	o.DisableAutoCommit = true
	zombie := newConsumer(t, hb, o)
	got := pollN(t, zombie, 5)
	hb.armed.Store(true)
	require.Eventually(t, func() bool {
		d, err := b.Groups().DescribeGroup(ctx, "g")
		return err == nil && len(d.Members) == 0
	}, 10*time.Second, 10*time.Millisecond, "its session runs out")
	err := zombie.CommitRecords(ctx, got...)
	require.Error(t, err, "a zombie's commit")
	com, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Empty(t, com, "the zombie's commit changed nothing")
}
