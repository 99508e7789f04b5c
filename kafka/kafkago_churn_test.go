package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

type kgReader struct {
	r    *kafkago.Reader
	stop context.CancelFunc
	done chan struct{}
}

func startKafkaGo(t *testing.T, addr, groupID string, mu *sync.Mutex, seen map[string]int) *kgReader {
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, GroupID: groupID,
		Topic: "events", MaxWait: 100 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
		StartOffset: kafkago.FirstOffset, JoinGroupBackoff: 50 * time.Millisecond,
		RebalanceTimeout: 5 * time.Second})
	gctx, stop := context.WithCancel(ctx)
	k := &kgReader{r: r, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for {
			m, err := r.FetchMessage(gctx)
			if err != nil {
				return
			}
			mu.Lock()
			seen[string(m.Value)]++
			mu.Unlock()
			err = r.CommitMessages(gctx, m)
			if err != nil && gctx.Err() == nil {
				t.Logf("commit %s: %v", m.Value, err)
			}
		}
	}()
	return k
}

func (k *kgReader) close(t *testing.T) {
	k.stop()
	<-k.done
	require.NoError(t, k.r.Close())
}

func TestKafkaGoChurn(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 6, nil))
	var mu sync.Mutex
	seen := map[string]int{}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	r1 := startKafkaGo(t, addr, "kg", &mu, seen)
	r2 := startKafkaGo(t, addr, "kg", &mu, seen)
	waitStable(t, b, "kg", 2)
	appendAndSee(t, b, "events", 6, 0, 60, count)
	t.Logf("%s r1 %p closing", time.Now().Format("05.000"), r1.r)
	r1.close(t)
	t.Logf("%s r1 closed", time.Now().Format("05.000"))
	waitStable(t, b, "kg", 1)
	appendAndSee(t, b, "events", 6, 60, 120, count)
	t.Logf("%s r2 %p closing", time.Now().Format("05.000"), r2.r)
	r2.close(t)
	t.Logf("%s r2 closed", time.Now().Format("05.000"))
	appendRange(t, b, "events", 6, 120, 180)
	r3 := startKafkaGo(t, addr, "kg", &mu, seen)
	t.Logf("r3 %p", r3.r)
	require.Eventually(t, func() bool { return count() == 180 }, 20*time.Second, 20*time.Millisecond)
	r3.close(t)
	mu.Lock()
	defer mu.Unlock()
	for v, n := range seen {
		require.Equal(t, 1, n, "record %s consumed once", v)
	}
}
