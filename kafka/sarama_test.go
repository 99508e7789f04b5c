package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
	"github.com/stretchr/testify/require"
)

// Sarama's meters start a go-metrics goroutine that never ends, which the
// leak check would report; nil metrics start none.
func init() { metrics.UseNilMetrics = true }

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "cairn-test"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1 // required by the idempotent producer
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 20 * time.Millisecond
	return cfg
}

func TestSaramaProduceConsume(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "orders", 3, nil))

	cfg := saramaConfig()
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer([]string{addr}, cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, prod.Close()) }()
	var msgs []*sarama.ProducerMessage
	for i := range 90 {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: "orders", Partition: int32(i % 3),
			Key: sarama.StringEncoder(fmt.Sprint("k", i)), Value: sarama.StringEncoder(fmt.Sprint(i))})
	}
	require.NoError(t, prod.SendMessages(msgs))
	for _, m := range msgs {
		got, err := b.Read(ctx, "orders", m.Partition, m.Offset, 1)
		require.NoError(t, err)
		require.Equal(t, string(m.Value.(sarama.StringEncoder)), string(got[0].Value))
	}
	part, off, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "orders", Value: sarama.StringEncoder("one more")})
	require.NoError(t, err)
	got, err := b.Read(ctx, "orders", part, off, 1)
	require.NoError(t, err)
	require.Equal(t, "one more", string(got[0].Value))

	cons, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	require.NoError(t, err)
	defer func() { require.NoError(t, cons.Close()) }()
	for p := range int32(3) {
		pc, err := cons.ConsumePartition("orders", p, sarama.OffsetOldest)
		require.NoError(t, err)
		want := 30
		if p == part {
			want++
		}
		for i := range want {
			select {
			case m := <-pc.Messages():
				require.Equal(t, int64(i), m.Offset)
				if i < 30 {
					require.Equal(t, fmt.Sprint(3*i+int(p)), string(m.Value))
					require.Equal(t, fmt.Sprint("k", 3*i+int(p)), string(m.Key))
				}
			case err := <-pc.Errors():
				t.Fatal(err)
			case <-time.After(10 * time.Second):
				t.Fatalf("partition %d: %d of %d records", p, i, want)
			}
		}
		require.NoError(t, pc.Close())
	}
}

// groupHandler collects the values its members consume and marks them.
type groupHandler struct {
	mu   sync.Mutex
	seen map[string]int
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		h.seen[string(m.Value)]++
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

func (h *groupHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

// Two sarama group members split four partitions, consume every record
// once and commit on close.
func TestSaramaConsumerGroup(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 4, nil))

	h := &groupHandler{seen: map[string]int{}}
	gctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var groups []sarama.ConsumerGroup
	for range 2 {
		g, err := sarama.NewConsumerGroup([]string{addr}, "sarama-group", saramaConfig())
		require.NoError(t, err)
		groups = append(groups, g)
		wg.Go(func() {
			for gctx.Err() == nil {
				if err := g.Consume(gctx, []string{"events"}, h); err != nil && gctx.Err() == nil {
					t.Errorf("consume: %v", err)
					return
				}
			}
		})
	}
	require.Eventually(t, func() bool {
		d, err := b.Groups().DescribeGroup(ctx, "sarama-group")
		if err != nil || d.State.String() != "Stable" || len(d.Members) != 2 {
			return false
		}
		for _, m := range d.Members {
			if len(m.Assignment) == 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "two members share the partitions")
	// Appended only now: a record read before a rebalance may be read
	// again after it (Kafka's groups deliver at least once), which the
	// exactly-once check below would count as a failure.
	appendValues(t, b, "events", 4, 25)
	require.Eventually(t, func() bool { return h.count() == 100 },
		30*time.Second, 20*time.Millisecond, "two members consume every record")
	stop() // ends the sessions, which commit the marked offsets
	wg.Wait()
	for _, g := range groups {
		require.NoError(t, g.Close())
	}
	for v, n := range h.seen {
		require.Equal(t, 1, n, "record %s consumed once", v)
	}
	lag, err := b.Groups().Lag(ctx, "sarama-group")
	require.NoError(t, err)
	require.Len(t, lag, 4)
	for _, l := range lag {
		require.Zero(t, l.Lag, "partition %d", l.Partition)
	}
}
