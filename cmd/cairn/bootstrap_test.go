package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cliAPIs are the Kafka APIs the --bootstrap mode uses through franz-go.
var cliAPIs = []kmsg.Key{
	kmsg.ApiVersions, kmsg.Metadata, kmsg.CreateTopics, kmsg.DeleteTopics, kmsg.DescribeConfigs,
	kmsg.ListOffsets, kmsg.InitProducerID, kmsg.Produce, kmsg.Fetch, kmsg.FindCoordinator,
	kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.LeaveGroup, kmsg.OffsetCommit,
	kmsg.OffsetFetch, kmsg.ListGroups, kmsg.DescribeGroups, kmsg.DeleteGroups,
}

// requireKafkaHandlers fails the test, naming what is missing, unless the
// listener at addr answers ApiVersions advertising every key and answers
// Metadata. It makes a failure of the kafka package read as one.
func requireKafkaHandlers(t *testing.T, addr string, keys ...kmsg.Key) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryTimeout(5*time.Second))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	versions, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(versions.ErrorCode)
	}
	if err != nil {
		t.Fatalf("the Kafka listener at %s does not answer ApiVersions (kafka package handlers missing?): %v", addr, err)
	}
	advertised := map[int16]bool{}
	for _, k := range versions.ApiKeys {
		advertised[k.ApiKey] = true
	}
	var missing []string
	for _, k := range keys {
		if !advertised[k.Int16()] {
			missing = append(missing, k.Name())
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the Kafka listener at %s does not advertise %s: the kafka package lacks these handlers", addr, strings.Join(missing, ", "))
	}
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
		t.Fatalf("the Kafka listener at %s does not answer Metadata: %v", addr, err)
	}
}

func TestBootstrap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServe(t, "--dir", dir, "--durability", "none")
	requireKafkaHandlers(t, s.addr, cliAPIs...)
	b := "--bootstrap=" + s.addr

	// topics
	require.Equal(t, "created topic orders with 2 partitions\n",
		ok(t, "", "topics", "create", "orders", "--partitions", "2", "--config", "retention.ms=60000", b))
	ok(t, "", "topics", "create", "audit", b)
	require.Equal(t, []string{"audit", "orders"}, lines(ok(t, "", "topics", b)))
	desc := ok(t, "", "topics", "describe", "orders", b)
	require.Contains(t, desc, "topic orders (id ", "the id, as --dir shows it")
	require.Contains(t, desc, "2 partitions")
	require.Contains(t, desc, "  retention.ms=60000\n")
	require.Contains(t, desc, "  cleanup.policy=delete  (default)\n")
	ok(t, "", "topics", "delete", "audit", b)
	require.Equal(t, []string{"orders"}, lines(ok(t, "", "topics", b)))
	r := cli(t, "", "topics", "describe", "audit", b)
	require.Equal(t, exitError, r.code)

	// produce and consume
	require.Equal(t, "partition 1 offset 0\npartition 1 offset 1\n", ok(t, "k:a\nk:b\n", "produce", "orders", "--partition", "1", "--key-sep", ":", b))
	ok(t, "c\nd\ne\n", "produce", "orders", "--partition", "0", b)
	require.Equal(t, []string{"0 0 =c", "0 1 =d", "0 2 =e", "1 0 k=a", "1 1 k=b"},
		sorted(lines(ok(t, "", "consume", "orders", "--format", `%p %o %k=%v\n`, b))))
	require.Equal(t, []string{"0 2 =e"},
		lines(ok(t, "", "consume", "orders", "--from", "2", "--format", `%p %o =%v\n`, b)))

	// groups
	require.Len(t, lines(ok(t, "", "consume", "orders", "--group", "g", "-n", "5", b)), 5)
	require.Contains(t, ok(t, "", "groups", b), "g ")
	require.Contains(t, ok(t, "", "groups", "lag", "g", b), "total lag 0\n")
	require.Empty(t, ok(t, "", "consume", "orders", "--group", "g", b), "all committed")
	require.Contains(t, ok(t, "", "groups", "describe", "g", b), "group g: Empty")
	ok(t, "", "groups", "reset", "g", "--topic", "orders", "--to", "earliest", b)
	require.Contains(t, ok(t, "", "groups", "lag", "g", b), "total lag 5\n")
	require.Equal(t, "deleted group g\n", ok(t, "", "groups", "delete", "g", b))
	r = cli(t, "", "groups", "describe", "g", b)
	require.Equal(t, exitError, r.code)

	// The server flushes on stop: everything is in the directory.
	require.NoError(t, s.stop())
	d := "--dir=" + dir
	require.Equal(t, lines(desc)[0], lines(ok(t, "", "topics", "describe", "orders", d))[0], "the same id either way")
	require.Len(t, lines(ok(t, "", "consume", "orders", d)), 5)
	require.Equal(t, []string{"orders"}, lines(ok(t, "", "topics", d)))
}

func TestBootstrapFollow(t *testing.T) {
	s := startServe(t, "--dir", t.TempDir(), "--auto-create-topics")
	requireKafkaHandlers(t, s.addr, cliAPIs...)
	b := "--bootstrap=" + s.addr
	ok(t, "", "topics", "create", "live", b)

	out := &syncBuffer{}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(fctx, []string{"consume", "live", "--follow", "--group", "tail", b}, stdio{out: out, err: out})
	}()
	for i := range 3 {
		ok(t, fmt.Sprintf("line %d\n", i), "produce", "live", b)
	}
	require.Eventually(t, func() bool { return strings.Count(out.String(), "line") == 3 }, 20*time.Second, 10*time.Millisecond, out.String)
	cancel()
	require.Equal(t, exitOK, <-done, "Ctrl-C ends --follow cleanly")
	require.Equal(t, "line 0\nline 1\nline 2\n", out.String())
}

// A server that auto-creates topics creates the one `produce
// --bootstrap` names, as it does for kcat. (The CLI's client did not ask
// it to: UNKNOWN_TOPIC_OR_PARTITION.)
func TestBootstrapProduceAutoCreates(t *testing.T) {
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none", "--auto-create-topics", "--default-partitions", "2")
	b := "--bootstrap=" + s.addr
	ok(t, "a\n", "produce", "fresh", b)
	require.Contains(t, ok(t, "", "topics", "describe", "fresh", b), "2 partitions")
	require.NoError(t, s.stop())
}
