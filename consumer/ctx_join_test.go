package consumer_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// joinSpy is a broker that runs onJoin as a member's JoinGroup begins
// (the group's state then) and reports the outcome of each heartbeat.
type joinSpy struct {
	*cairn.Broker
	onJoin func(group.State)
	hb     chan error // each heartbeat's error, nil included
}

func (s *joinSpy) JoinGroup(ctx context.Context, req group.JoinRequest) (group.JoinResponse, error) {
	state := group.Empty
	if d, err := s.Groups().DescribeGroup(ctx, req.Group); err == nil {
		state = d.State
	}
	if s.onJoin != nil {
		s.onJoin(state)
	}
	return s.Broker.JoinGroup(ctx, req)
}

func (s *joinSpy) Heartbeat(ctx context.Context, req group.HeartbeatRequest) error {
	err := s.Broker.Heartbeat(ctx, req)
	select {
	case s.hb <- err:
	default:
	}
	return err
}

// A Poll whose ctx ends while it waits in a JoinGroup leaves the join to
// the next Poll (the member stays in the group, which completes the
// rebalance with it). Meanwhile the heartbeats, still of the old
// generation, are answered ILLEGAL_GENERATION: that is the group being a
// generation ahead because of our own unfinished join, not our partitions
// being taken away. They were taken as lost: the next Poll called OnLost
// and dropped them, without committing, and the member rejoined owning
// nothing.
func TestPollCtxEndsInJoinDoesNotLosePartitions(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	appendN(t, b, "t", 0, 1, "a")
	appendN(t, b, "t", 1, 1, "b")
	var lost atomic.Int32
	var lostTPs []consumer.TopicPartition
	var mu sync.Mutex
	spy := &joinSpy{Broker: b, hb: make(chan error, 1)}
	o := &consumer.Options{Group: "g", Topics: []string{"t"}, SessionTimeout: 10 * time.Second,
		HeartbeatInterval: 5 * time.Millisecond, RebalanceTimeout: 10 * time.Second,
		MetadataInterval: 10 * time.Millisecond,
		OnLost: func(_ context.Context, _ *consumer.Consumer, tps []consumer.TopicPartition) {
			lost.Add(1)
			mu.Lock()
			lostTPs = append(lostTPs, tps...)
			mu.Unlock()
		}}
	c := newConsumer(t, spy, o)
	pollN(t, c, 2) // alone in the group: both partitions

	// Another member joins; it will not come back for the second
	// (cooperative) rebalance until told to.
	sub := []group.Protocol{{Name: group.CooperativeSticky().Name(), Metadata: group.EncodeSubscription([]string{"t"}, nil, -1)}}
	other := group.JoinRequest{Group: "g", ProtocolType: group.ConsumerProtocol, Protocols: sub,
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second}
	joined := make(chan group.JoinResponse, 1)
	go func() {
		r, err := b.JoinGroup(ctx, other)
		if err == nil {
			joined <- r
		}
		close(joined)
	}()
	require.Eventually(t, func() bool {
		d, err := b.Groups().DescribeGroup(ctx, "g")
		return err == nil && d.State == group.PreparingRebalance && len(d.Members) == 2
	}, 5*time.Second, time.Millisecond)

	// The consumer's Poll rejoins (gen 2), gives a partition up and joins
	// again: that join waits for the other member, and the Poll's ctx
	// ends there.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	spy.onJoin = func(s group.State) {
		if s != group.PreparingRebalance { // the second join: it starts a rebalance and waits
			cancel()
		}
	}
	_, err := c.Poll(pctx)
	require.ErrorIs(t, err, context.Canceled)
	r, ok := <-joined
	require.True(t, ok, "the other member's first join failed")

	// The other member comes back: the rebalance completes with both (the
	// consumer is still in it), a generation past the consumer's.
	other.MemberID = r.MemberID
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = b.JoinGroup(ctx, other)
	}()
	<-done

	// Wait until a heartbeat got ILLEGAL_GENERATION and the heartbeat
	// goroutine has dealt with it (it sends the next one after).
	deadline := time.After(5 * time.Second)
	for seen, dealt := false, false; !dealt; {
		select {
		case err := <-spy.hb:
			dealt = seen
			seen = seen || errors.Is(err, group.ErrIllegalGeneration)
		case <-deadline:
			t.Fatal("no heartbeat got ILLEGAL_GENERATION")
		}
	}
	// The next Poll carries on with the join; it ends at its JoinGroup.
	pctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	spy.onJoin = func(group.State) { cancel2() }
	_, err = c.Poll(pctx2)
	require.ErrorIs(t, err, context.Canceled)
	mu.Lock()
	defer mu.Unlock()
	require.Zero(t, lost.Load(), "OnLost called for %v", lostTPs)
}
