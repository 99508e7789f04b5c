package kafka_test

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/kafka"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// serve starts a listener on a random loopback port over an in-memory
// broker and returns both.
func serve(t *testing.T, opts *kafka.Options) (*cairn.Broker, string) {
	t.Helper()
	return serveDurability(t, cairn.SyncAlways, opts)
}

// serveDurability is serve over a broker with the given durability.
func serveDurability(t *testing.T, d cairn.Durability, opts *kafka.Options) (*cairn.Broker, string) {
	t.Helper()
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem(), Durability: d})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := kafka.NewServer(b, opts)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-done)
		require.NoError(t, b.Close())
	})
	return b, ln.Addr().String()
}

func client(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func TestFranzGoProduceConsume(t *testing.T) {
	for _, d := range []cairn.Durability{cairn.SyncAlways, cairn.NoSync} {
		t.Run(d.String(), func(t *testing.T) { testFranzGoProduceConsume(t, d) })
	}
}

func testFranzGoProduceConsume(t *testing.T, d cairn.Durability) {
	b, addr := serveDurability(t, d, nil)
	require.NoError(t, b.CreateTopic(ctx, "orders", 3, nil))
	cl := client(t, addr) // idempotent by default
	var recs []*kgo.Record
	for i := 0; i < 300; i++ {
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(fmt.Sprint("k", i%17)), Value: []byte(fmt.Sprint(i))})
	}
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
	for _, r := range recs {
		// Same partitioner as ours: the key decides.
		got, err := b.Read(ctx, "orders", r.Partition, r.Offset, 1)
		require.NoError(t, err)
		require.Equal(t, string(r.Value), string(got[0].Value))
	}

	cons := client(t, addr, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]bool{}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for len(seen) < 300 {
		fs := cons.PollFetches(cctx)
		require.NoError(t, fs.Err())
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	// Records appended in-process reach the Kafka client too.
	_, err := b.Append(ctx, "orders", 0, cairn.Record{Value: []byte("from inside")})
	require.NoError(t, err)
	for {
		fs := cons.PollFetches(cctx)
		require.NoError(t, fs.Err())
		found := false
		fs.EachRecord(func(r *kgo.Record) { found = found || string(r.Value) == "from inside" })
		if found {
			break
		}
	}
}

func TestFranzGoAdmin(t *testing.T) {
	b, addr := serve(t, nil)
	adm := kadm.NewClient(client(t, addr))
	resp, err := adm.CreateTopics(ctx, 4, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, "a", "b")
	require.NoError(t, err)
	for _, r := range resp.Sorted() {
		require.NoError(t, r.Err, r.Topic)
	}
	resp, err = adm.CreateTopics(ctx, 1, 1, nil, "a")
	require.NoError(t, err)
	require.ErrorContains(t, resp["a"].Err, "TOPIC_ALREADY_EXISTS")
	names, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, names)

	cfgs, err := adm.DescribeTopicConfigs(ctx, "a")
	require.NoError(t, err)
	rc, err := cfgs.On("a", nil)
	require.NoError(t, err)
	found := false
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" {
			found = true
			require.Equal(t, "3600000", c.MaybeValue())
		}
	}
	require.True(t, found)
	_, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: kadm.StringPtr("2000")}}, "a")
	require.NoError(t, err)
	info, err := b.DescribeTopic(ctx, "a")
	require.NoError(t, err)
	for _, e := range info.Config {
		if e.Key == "max.message.bytes" {
			require.Equal(t, "2000", e.Value)
		}
	}
	_, err = adm.CreatePartitions(ctx, 2, "b")
	require.NoError(t, err)
	n, err := b.PartitionCount("b")
	require.NoError(t, err)
	require.Equal(t, 6, n)

	dresp, err := adm.DeleteTopics(ctx, "a")
	require.NoError(t, err)
	require.NoError(t, dresp["a"].Err)
	names, err = b.Topics(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, names)

	// DeleteRecords and ListOffsets.
	for i := 0; i < 5; i++ {
		_, err := b.Append(ctx, "b", 0, cairn.Record{Value: []byte("x"), Timestamp: time.UnixMilli(int64(1000 * (i + 1)))})
		require.NoError(t, err)
	}
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: "b", Partition: 0, At: 2})
	_, err = adm.DeleteRecords(ctx, os)
	require.NoError(t, err)
	starts, err := adm.ListStartOffsets(ctx, "b")
	require.NoError(t, err)
	start, _ := starts.Lookup("b", 0)
	require.Equal(t, int64(2), start.Offset)
	ends, err := adm.ListEndOffsets(ctx, "b")
	require.NoError(t, err)
	end, _ := ends.Lookup("b", 0)
	require.Equal(t, int64(5), end.Offset)
	byTime, err := adm.ListOffsetsAfterMilli(ctx, 3500, "b")
	require.NoError(t, err)
	at, _ := byTime.Lookup("b", 0)
	require.Equal(t, int64(3), at.Offset)
}

// Three franz-go group members share a topic and rebalance when one leaves;
// an in-process consumer in the same group shares the partitions with them.
func TestFranzGoGroupMixedWithInProcess(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 6, nil))
	for p := int32(0); p < 6; p++ {
		for i := 0; i < 20; i++ {
			_, err := b.Append(ctx, "events", p, cairn.Record{Value: []byte(fmt.Sprintf("%d-%d", p, i))})
			require.NoError(t, err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var members []*kgo.Client
	for i := 0; i < 3; i++ {
		cl := client(t, addr, kgo.ConsumerGroup("mixed"), kgo.ConsumeTopics("events"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.HeartbeatInterval(50*time.Millisecond))
		members = append(members, cl)
		wg.Go(func() {
			for gctx.Err() == nil {
				fs := cl.PollFetches(gctx)
				fs.EachRecord(func(r *kgo.Record) {
					mu.Lock()
					seen[string(r.Value)]++
					mu.Unlock()
				})
			}
		})
	}
	inproc, err := consumer.New(b, &consumer.Options{Group: "mixed", Topics: []string{"events"},
		HeartbeatInterval: 50 * time.Millisecond, SessionTimeout: 10 * time.Second})
	require.NoError(t, err)
	wg.Go(func() {
		for gctx.Err() == nil {
			f, err := inproc.Poll(gctx)
			if err != nil {
				continue
			}
			for _, r := range f.Records {
				mu.Lock()
				seen[string(r.Value)]++
				mu.Unlock()
			}
		}
	})
	assertEventually(t, func() bool {
		d, err := b.Groups().DescribeGroup(ctx, "mixed")
		if err != nil || d.State.String() != "Stable" || len(d.Members) != 4 {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 120
	}, 30*time.Second, 20*time.Millisecond, "four members, every record consumed")
	if t.Failed() {
		d, err := b.Groups().DescribeGroup(ctx, "mixed")
		t.Logf("%+v %v seen=%d", d, err, len(seen))
	}
	d, err := b.Groups().DescribeGroup(ctx, "mixed")
	require.NoError(t, err)
	owned := 0
	for _, m := range d.Members {
		tps, err := group.DecodeAssignment(m.Assignment)
		require.NoError(t, err)
		if m.ClientID == "cairn-consumer" {
			owned = len(tps)
		}
	}
	require.Positive(t, owned, "the in-process member owns partitions")

	// One franz-go member leaves: the group rebalances to three.
	members[0].Close()
	require.Eventually(t, func() bool {
		d, err := b.Groups().DescribeGroup(ctx, "mixed")
		return err == nil && d.State.String() == "Stable" && len(d.Members) == 3
	}, 30*time.Second, 20*time.Millisecond)
	stop()
	wg.Wait()
	require.NoError(t, inproc.Close())
	lag, err := b.Groups().Lag(ctx, "mixed")
	require.NoError(t, err)
	sort.Slice(lag, func(i, j int) bool { return lag[i].Partition < lag[j].Partition })
	require.NotEmpty(t, lag, "members committed offsets")
}

func assertEventually(t *testing.T, f func() bool, wait, tick time.Duration, msg string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !f() {
		if time.Now().After(deadline) {
			t.Errorf("condition never satisfied: %s", msg)
			return
		}
		time.Sleep(tick)
	}
}
