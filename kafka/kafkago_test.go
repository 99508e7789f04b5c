package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// kafkaGoWriter returns a writer with its own transport, whose idle
// connections are closed at cleanup (the default transport's would outlive
// the test).
func kafkaGoWriter(t *testing.T, addr string) *kafkago.Writer {
	tr := &kafkago.Transport{ClientID: "cairn-test"}
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Transport: tr, RequiredAcks: kafkago.RequireAll,
		Balancer: &kafkago.Hash{}, BatchTimeout: time.Millisecond}
	t.Cleanup(func() {
		require.NoError(t, w.Close())
		tr.CloseIdleConnections()
	})
	return w
}

func TestKafkaGoProduceConsume(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "orders", 3, nil))
	w := kafkaGoWriter(t, addr)
	var msgs []kafkago.Message
	for i := range 90 {
		msgs = append(msgs, kafkago.Message{Topic: "orders", Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Append(nil, i)})
	}
	require.NoError(t, w.WriteMessages(ctx, msgs...))
	var total int64
	for p := range int32(3) {
		_, hwm, err := b.Watermarks("orders", p)
		require.NoError(t, err)
		total += hwm
	}
	require.Equal(t, int64(90), total)

	seen := map[string]bool{}
	for p := range 3 {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: "orders", Partition: p,
			MaxWait: 100 * time.Millisecond})
		_, hwm, err := b.Watermarks("orders", int32(p))
		require.NoError(t, err)
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		for i := range hwm {
			m, err := r.ReadMessage(rctx)
			require.NoError(t, err)
			require.Equal(t, i, m.Offset)
			require.Equal(t, p, m.Partition)
			require.Equal(t, "k"+string(m.Value), string(m.Key))
			seen[string(m.Value)] = true
		}
		cancel()
		require.NoError(t, r.Close())
	}
	require.Len(t, seen, 90)
}

// Two kafka-go group readers split four partitions, consume every record
// once and commit what they processed.
func TestKafkaGoConsumerGroup(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 4, nil))

	gctx, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	var readers []*kafkago.Reader
	for range 2 {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, GroupID: "kafka-go-group",
			Topic: "events", MaxWait: 100 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
			StartOffset: kafkago.FirstOffset, JoinGroupBackoff: 50 * time.Millisecond})
		readers = append(readers, r)
		wg.Go(func() {
			for {
				m, err := r.FetchMessage(gctx)
				if err != nil {
					return
				}
				mu.Lock()
				seen[string(m.Value)]++
				mu.Unlock()
				if err := r.CommitMessages(gctx, m); err != nil && gctx.Err() == nil {
					t.Errorf("commit: %v", err)
				}
			}
		})
	}
	// The records go in once both members share the partitions: a
	// record read before a rebalance may be read again after it (Kafka's
	// groups deliver at least once), which the exactly-once check below
	// would count as a failure (it did, a few times in a hundred runs).
	require.Eventually(t, func() bool {
		d, err := b.Groups().DescribeGroup(ctx, "kafka-go-group")
		if err != nil || d.State.String() != "Stable" || len(d.Members) != 2 {
			return false
		}
		for _, m := range d.Members {
			if len(m.Assignment) == 0 { // the leader has synced: both have an assignment
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "two members share the partitions")
	appendValues(t, b, "events", 4, 25)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 100
	}, 30*time.Second, 20*time.Millisecond, "two members consume every record")
	require.Eventually(t, func() bool {
		lag, err := b.Groups().Lag(ctx, "kafka-go-group")
		if err != nil || len(lag) != 4 {
			return false
		}
		for _, l := range lag {
			if l.Lag != 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "every offset committed")
	stop()
	wg.Wait()
	for _, r := range readers {
		require.NoError(t, r.Close())
	}
	for v, n := range seen {
		require.Equal(t, 1, n, "record %s consumed once", v)
	}
}
