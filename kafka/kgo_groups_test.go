package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type kgoMember struct {
	cl   *kgo.Client
	stop context.CancelFunc
	done chan struct{}
}

// startKgo polls and commits every record it processes, synchronously.
func startKgo(t *testing.T, addr, groupID string, mu *sync.Mutex, seen map[string]int, opts ...kgo.Opt) *kgoMember {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumerGroup(groupID),
		kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.HeartbeatInterval(100 * time.Millisecond), kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100 * time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	gctx, stop := context.WithCancel(ctx)
	m := &kgoMember{cl: cl, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for gctx.Err() == nil {
			fs := cl.PollFetches(gctx)
			var recs []*kgo.Record
			fs.EachRecord(func(r *kgo.Record) {
				mu.Lock()
				seen[string(r.Value)]++
				mu.Unlock()
				recs = append(recs, r)
			})
			if len(recs) > 0 {
				if err := cl.CommitRecords(gctx, recs...); err != nil && gctx.Err() == nil {
					t.Logf("commit: %v", err)
				}
			}
			cl.AllowRebalance()
		}
	}()
	return m
}

func (m *kgoMember) close() {
	m.stop()
	<-m.done
	m.cl.Close()
}

func checkOnce(t *testing.T, mu *sync.Mutex, seen map[string]int) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	for v, n := range seen {
		require.Equal(t, 1, n, "record %s consumed once", v)
	}
}

// kgo members of a cooperative-sticky+range group and one range-only
// member: the group settles on range, eagerly.
func TestKgoEagerWithCooperative(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 6, nil))
	var mu sync.Mutex
	seen := map[string]int{}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	coop := kgo.Balancers(kgo.CooperativeStickyBalancer(), kgo.RangeBalancer())
	m1 := startKgo(t, addr, "mix", &mu, seen, coop)
	m2 := startKgo(t, addr, "mix", &mu, seen, coop)
	waitStable(t, b, "mix", 2)
	appendAndSee(t, b, "events", 6, 0, 60, count)
	m3 := startKgo(t, addr, "mix", &mu, seen, kgo.Balancers(kgo.RangeBalancer()))
	appendRange(t, b, "events", 6, 60, 120)
	waitStable(t, b, "mix", 3)
	d, err := b.Groups().DescribeGroup(ctx, "mix")
	require.NoError(t, err)
	require.Equal(t, "range", d.Protocol)
	appendAndSee(t, b, "events", 6, 120, 180, count)
	m3.close()
	waitStable(t, b, "mix", 2)
	appendAndSee(t, b, "events", 6, 180, 240, count)
	m1.close()
	m2.close()
	checkOnce(t, &mu, seen)
}

// A member that does not rejoin within the rebalance timeout is removed,
// the group settles without it, and it rejoins cleanly later.
func TestKgoSlowMember(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 4, nil))
	var mu sync.Mutex
	seen := map[string]int{}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	opts := []kgo.Opt{kgo.RebalanceTimeout(2 * time.Second), kgo.SessionTimeout(10 * time.Second),
		kgo.Balancers(kgo.RangeBalancer())}
	fast := startKgo(t, addr, "slow", &mu, seen, opts...)
	waitStable(t, b, "slow", 1)
	// slow: rebalances wait for it to allow them after a poll.
	slowCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumerGroup("slow"),
		kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.HeartbeatInterval(100 * time.Millisecond), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(100 * time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	defer slowCl.Close()
	pollSlow := func(d time.Duration, allow bool) {
		pctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		for pctx.Err() == nil {
			fs := slowCl.PollFetches(pctx)
			var recs []*kgo.Record
			fs.EachRecord(func(r *kgo.Record) {
				mu.Lock()
				seen[string(r.Value)]++
				mu.Unlock()
				recs = append(recs, r)
			})
			if len(recs) > 0 {
				if err := slowCl.CommitRecords(ctx, recs...); err != nil {
					t.Logf("slow commit: %v", err)
				}
			}
			if !allow {
				return
			}
			slowCl.AllowRebalance()
		}
	}
	waitStable(t, b, "slow", 2)
	appendRange(t, b, "events", 4, 0, 40)
	require.Eventually(t, func() bool { pollSlow(200*time.Millisecond, true); return count() == 40 }, 20*time.Second, 10*time.Millisecond)
	// The slow member polls and then holds on to its records: it cannot
	// rejoin when a third member joins.
	pollSlow(100*time.Millisecond, false)
	third := startKgo(t, addr, "slow", &mu, seen, opts...)
	time.Sleep(500 * time.Millisecond)
	appendRange(t, b, "events", 4, 40, 80)
	waitStable(t, b, "slow", 2)
	require.Eventually(t, func() bool { return count() == 80 }, 20*time.Second, 20*time.Millisecond)
	d, err := b.Groups().DescribeGroup(ctx, "slow")
	require.NoError(t, err)
	t.Logf("without the slow member: generation %d", d.Generation)
	// It comes back.
	slowCl.AllowRebalance()
	done := make(chan struct{})
	go func() { defer close(done); pollSlow(6*time.Second, true) }()
	waitStable(t, b, "slow", 3)
	appendAndSee(t, b, "events", 4, 80, 120, count)
	<-done
	fast.close()
	third.close()
	checkOnce(t, &mu, seen)
}

// An in-process consumer, a kgo member and a sarama member share six
// partitions; the kgo member leaves and another sarama member joins.
func TestMixedThreeClients(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 6, nil))
	var mu sync.Mutex
	seen := map[string]int{}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	inproc, err := consumer.New(b, &consumer.Options{Group: "m3", Topics: []string{"events"},
		HeartbeatInterval: 50 * time.Millisecond, SessionTimeout: 10 * time.Second})
	require.NoError(t, err)
	ictx, istop := context.WithCancel(ctx)
	idone := make(chan struct{})
	go func() {
		defer close(idone)
		for ictx.Err() == nil {
			f, err := inproc.Poll(ictx)
			if err != nil {
				continue
			}
			for _, r := range f.Records {
				mu.Lock()
				seen[string(r.Value)]++
				mu.Unlock()
			}
			if err := inproc.CommitRecords(ictx, f.Records...); len(f.Records) > 0 && err != nil && ictx.Err() == nil {
				t.Logf("inproc commit: %v", err)
			}
		}
	}()
	// Kgo's range balancer is the common protocol with sarama and the
	// in-process consumer.
	k := startKgo(t, addr, "m3", &mu, seen, kgo.Balancers(kgo.RangeBalancer()))
	scfg := func() *sarama.Config {
		c := saramaConfig()
		c.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
		return c
	}
	h := &groupHandler{seen: seen}
	s1 := startSarama(t, addr, "m3", "events", scfg(), &lockedHandler{h: h, mu: &mu})
	waitStable(t, b, "m3", 3)
	appendAndSee(t, b, "events", 6, 0, 120, count)
	k.close()
	appendRange(t, b, "events", 6, 120, 180)
	s2 := startSarama(t, addr, "m3", "events", scfg(), &lockedHandler{h: h, mu: &mu})
	appendRange(t, b, "events", 6, 180, 240)
	waitStable(t, b, "m3", 3)
	appendAndSee(t, b, "events", 6, 240, 300, count)
	s1.close(t)
	s2.close(t)
	istop()
	<-idone
	require.NoError(t, inproc.Close())
	checkOnce(t, &mu, seen)
}

// lockedHandler counts into a map shared with other members.
type lockedHandler struct {
	h  *groupHandler
	mu *sync.Mutex
}

func (l *lockedHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (l *lockedHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (l *lockedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		l.mu.Lock()
		l.h.seen[string(m.Value)]++
		l.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

func TestKadmLiveGroup(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 4, nil))
	var mu sync.Mutex
	seen := map[string]int{}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	m1 := startKgo(t, addr, "adm", &mu, seen)
	m2 := startKgo(t, addr, "adm", &mu, seen)
	waitStable(t, b, "adm", 2)
	appendAndSee(t, b, "events", 4, 0, 40, count)
	adm := kadm.NewClient(client(t, addr))
	lg, err := adm.ListGroups(ctx)
	require.NoError(t, err)
	require.Contains(t, lg, "adm")
	require.Equal(t, "Stable", lg["adm"].State)
	require.Equal(t, "consumer", lg["adm"].ProtocolType)
	dg, err := adm.DescribeGroups(ctx, "adm")
	require.NoError(t, err)
	require.NoError(t, dg["adm"].Err)
	require.Equal(t, "Stable", dg["adm"].State)
	require.Len(t, dg["adm"].Members, 2)
	n := 0
	for _, m := range dg["adm"].Members {
		ca, ok := m.Assigned.AsConsumer()
		require.True(t, ok)
		for _, tp := range ca.Topics {
			n += len(tp.Partitions)
		}
	}
	require.Equal(t, 4, n)
	del, err := adm.DeleteGroups(ctx, "adm")
	require.NoError(t, err)
	require.Error(t, del["adm"].Err, "a live group is not deleted")
	t.Logf("delete live: %v", del["adm"].Err)
	// Commits survive the refused delete.
	offs, err := adm.FetchOffsets(ctx, "adm")
	require.NoError(t, err)
	require.Len(t, offs.Offsets(), 1)
	m1.close()
	m2.close()
	require.Eventually(t, func() bool {
		lg, err := adm.ListGroups(ctx)
		return err == nil && lg["adm"].State == "Empty"
	}, 10*time.Second, 20*time.Millisecond)
	del, err = adm.DeleteGroups(ctx, "adm")
	require.NoError(t, err)
	require.NoError(t, del["adm"].Err)
	lg, err = adm.ListGroups(ctx)
	require.NoError(t, err)
	require.NotContains(t, lg, "adm")
	dg, err = adm.DescribeGroups(ctx, "adm")
	t.Logf("describe deleted: %v %+v", err, dg["adm"])
	offs, err = adm.FetchOffsets(ctx, "adm")
	require.NoError(t, err)
	require.Empty(t, offs.Offsets()["events"])
	// A new member starts from the beginning.
	m3 := startKgo(t, addr, "adm", &mu, seen)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["v0"] == 2
	}, 20*time.Second, 20*time.Millisecond)
	m3.close()
}
