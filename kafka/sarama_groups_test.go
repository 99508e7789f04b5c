package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// saramaMember runs one sarama group member until stopped.
type saramaMember struct {
	g    sarama.ConsumerGroup
	stop context.CancelFunc
	done chan struct{}
}

func startSarama(t *testing.T, addr, groupID, topic string, cfg *sarama.Config, h sarama.ConsumerGroupHandler) *saramaMember {
	t.Helper()
	g, err := sarama.NewConsumerGroup([]string{addr}, groupID, cfg)
	require.NoError(t, err)
	gctx, stop := context.WithCancel(ctx)
	m := &saramaMember{g: g, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for gctx.Err() == nil {
			if err := g.Consume(gctx, []string{topic}, h); err != nil && gctx.Err() == nil {
				t.Logf("consume: %v", err)
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	return m
}

func (m *saramaMember) close(t *testing.T) {
	m.stop()
	<-m.done
	require.NoError(t, m.g.Close())
}

func waitStable(t *testing.T, b *cairn.Broker, groupID string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		d, err := b.Groups().DescribeGroup(ctx, groupID)
		if err != nil || d.State.String() != "Stable" || len(d.Members) != n {
			return false
		}
		for _, m := range d.Members {
			if len(m.Assignment) == 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "group %s stable with %d members", groupID, n)
}

func appendRange(t *testing.T, b *cairn.Broker, topic string, partitions, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := b.Append(ctx, topic, int32(i%partitions), cairn.Record{Value: fmt.Appendf(nil, "v%d", i)})
		require.NoError(t, err)
	}
}

// appendAndSee appends records from to to (as appendRange) and waits until
// count, the records the group has seen, reaches to.
func appendAndSee(t *testing.T, b *cairn.Broker, topic string, partitions, from, to int, count func() int) {
	t.Helper()
	appendRange(t, b, topic, partitions, from, to)
	require.Eventually(t, func() bool { return count() == to }, 20*time.Second, 20*time.Millisecond)
}

func (h *groupHandler) dups() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for v, n := range h.seen {
		if n != 1 {
			out = append(out, fmt.Sprintf("%s:%d", v, n))
		}
	}
	return out
}

func TestSaramaStrategiesChurn(t *testing.T) {
	for name, s := range map[string]sarama.BalanceStrategy{
		"range": sarama.NewBalanceStrategyRange(), "roundrobin": sarama.NewBalanceStrategyRoundRobin(),
		"sticky": sarama.NewBalanceStrategySticky(),
	} {
		t.Run(name, func(t *testing.T) {
			b, addr := serve(t, nil)
			require.NoError(t, b.CreateTopic(ctx, "events", 6, nil))
			cfg := func() *sarama.Config {
				c := saramaConfig()
				c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{s}
				c.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
				return c
			}
			h := &groupHandler{seen: map[string]int{}}
			a := startSarama(t, addr, "g", "events", cfg(), h)
			bm := startSarama(t, addr, "g", "events", cfg(), h)
			waitStable(t, b, "g", 2)
			appendRange(t, b, "events", 6, 0, 60)
			require.Eventually(t, func() bool { return h.count() == 60 }, 20*time.Second, 20*time.Millisecond)
			c := startSarama(t, addr, "g", "events", cfg(), h)
			appendRange(t, b, "events", 6, 60, 120)
			waitStable(t, b, "g", 3)
			appendRange(t, b, "events", 6, 120, 180)
			require.Eventually(t, func() bool { return h.count() == 180 }, 20*time.Second, 20*time.Millisecond)
			a.close(t)
			appendRange(t, b, "events", 6, 180, 240)
			waitStable(t, b, "g", 2)
			appendRange(t, b, "events", 6, 240, 300)
			require.Eventually(t, func() bool { return h.count() == 300 }, 20*time.Second, 20*time.Millisecond)
			bm.close(t)
			c.close(t)
			require.Empty(t, h.dups())
			lag, err := b.Groups().Lag(ctx, "g")
			require.NoError(t, err)
			require.Len(t, lag, 6)
			for _, l := range lag {
				require.Zero(t, l.Lag, "partition %d", l.Partition)
			}
		})
	}
}

// A static sarama member restarts: it takes its place back without a
// rebalance of the other and resumes from its auto-committed offsets.
func TestSaramaStaticRestart(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 4, nil))
	cfg := func(inst string) *sarama.Config {
		c := saramaConfig()
		c.Version = sarama.V2_3_0_0
		c.Consumer.Group.InstanceId = inst
		c.Consumer.Group.Session.Timeout = 10 * time.Second
		c.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
		return c
	}
	h := &groupHandler{seen: map[string]int{}}
	a := startSarama(t, addr, "s", "events", cfg("a"), h)
	bm := startSarama(t, addr, "s", "events", cfg("b"), h)
	waitStable(t, b, "s", 2)
	d0, err := b.Groups().DescribeGroup(ctx, "s")
	require.NoError(t, err)
	appendRange(t, b, "events", 4, 0, 40)
	require.Eventually(t, func() bool { return h.count() == 40 }, 20*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // an auto-commit
	a.close(t)
	appendRange(t, b, "events", 4, 40, 80)
	a = startSarama(t, addr, "s", "events", cfg("a"), h)
	require.Eventually(t, func() bool { return h.count() == 80 }, 20*time.Second, 20*time.Millisecond)
	waitStable(t, b, "s", 2)
	d1, err := b.Groups().DescribeGroup(ctx, "s")
	require.NoError(t, err)
	t.Logf("generation %d -> %d", d0.Generation, d1.Generation)
	a.close(t)
	bm.close(t)
	require.Empty(t, h.dups())
}

// A sarama member closes while the group rebalances for a new member.
func TestSaramaCloseDuringRebalance(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 6, nil))
	cfg := func() *sarama.Config {
		c := saramaConfig()
		c.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
		c.Consumer.Group.Rebalance.Timeout = 5 * time.Second
		return c
	}
	h := &groupHandler{seen: map[string]int{}}
	var ms []*saramaMember
	for range 3 {
		ms = append(ms, startSarama(t, addr, "cr", "events", cfg(), h))
	}
	waitStable(t, b, "cr", 3)
	appendRange(t, b, "events", 6, 0, 60)
	require.Eventually(t, func() bool { return h.count() == 60 }, 20*time.Second, 20*time.Millisecond)
	d0, err := b.Groups().DescribeGroup(ctx, "cr")
	require.NoError(t, err)
	ms = append(ms, startSarama(t, addr, "cr", "events", cfg(), h))
	require.Eventually(t, func() bool {
		d, err := b.Groups().DescribeGroup(ctx, "cr")
		return err == nil && d.State.String() != "Stable"
	}, 10*time.Second, time.Millisecond)
	appendRange(t, b, "events", 6, 60, 120)
	ms[0].close(t)
	appendRange(t, b, "events", 6, 120, 180)
	waitStable(t, b, "cr", 3)
	d1, err := b.Groups().DescribeGroup(ctx, "cr")
	require.NoError(t, err)
	t.Logf("generation %d -> %d", d0.Generation, d1.Generation)
	appendRange(t, b, "events", 6, 180, 240)
	require.Eventually(t, func() bool { return h.count() == 240 }, 20*time.Second, 20*time.Millisecond)
	for _, m := range ms[1:] {
		m.close(t)
	}
	require.Empty(t, h.dups())
	lag, err := b.Groups().Lag(ctx, "cr")
	require.NoError(t, err)
	for _, l := range lag {
		require.Zero(t, l.Lag, "partition %d", l.Partition)
	}
}
