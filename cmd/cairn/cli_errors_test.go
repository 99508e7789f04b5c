package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// --partitions is a partition count the topic gets, or a usage error: with
// --bootstrap it was cast to int32 (4294967298 made 2 partitions) and -1
// made the server's default, while the CLI printed the flag's value.
func TestCreatePartitionsOutOfRange(t *testing.T) {
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
	b := "--bootstrap=" + s.addr
	for _, n := range []string{"4294967298", "-1", "0", "65537"} {
		r := cli(t, "", "topics", "create", "t"+strings.TrimPrefix(n, "-"), "--partitions", n, b)
		require.Equal(t, exitUsage, r.code, "--partitions %s: stdout %q stderr %q", n, r.out, r.err)
	}
	require.Empty(t, lines(ok(t, "", "topics", b)), "no topic was created")
}

// A refused topic creation through --bootstrap says why, as with --dir
// (it printed only "INVALID_CONFIG: Configuration is invalid.").
func TestCreateTopicErrorSaysWhy(t *testing.T) {
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
	r := cli(t, "", "topics", "create", "x", "--config", "retention.ms=abc", "--bootstrap="+s.addr)
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.err, `retention.ms="abc"`)
}

// `groups lag` of a group that does not exist fails with --bootstrap as
// with --dir (it printed "total lag 0" and exited 0).
func TestLagUnknownGroup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ok(t, "", "topics", "create", "orders", "--dir", dir)
	r := cli(t, "", "groups", "lag", "nosuch", "--dir", dir)
	require.Equal(t, exitError, r.code, "--dir: %q", r.out)
	require.Contains(t, r.err, "unknown group")

	s := startServe(t, "--dir", dir, "--durability", "none")
	r = cli(t, "", "groups", "lag", "nosuch", "--bootstrap="+s.addr)
	require.Equal(t, exitError, r.code, "--bootstrap: stdout %q", r.out)
	require.Contains(t, r.err, "unknown group")
}

// consume without --follow exits once the partitions the group gave it
// are printed to their ends, even when another member of the group holds
// the others (it waited for them forever).
func TestConsumeGroupSharedExits(t *testing.T) {
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
	b := "--bootstrap=" + s.addr
	ok(t, "", "topics", "create", "orders", "--partitions", "2", b)
	ok(t, "a\n", "produce", "orders", "--partition", "0", b)
	ok(t, "b\n", "produce", "orders", "--partition", "1", b)

	// Another member of group g holds a partition and is at its end.
	other, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.DisableAutoCommit())
	require.NoError(t, err)
	defer other.Close()
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			other.PollFetches(pctx)
			cancel()
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	defer func() { close(stop); <-polled }()
	adm := kadm.NewClient(other)
	require.Eventually(t, func() bool {
		ds, err := adm.DescribeGroups(ctx, "g")
		return err == nil && ds["g"].State == "Stable"
	}, 20*time.Second, 50*time.Millisecond)

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out, errb syncBuffer
	code := run(cctx, []string{"consume", "orders", "--group", "g", b}, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	require.NoError(t, cctx.Err(), "consume waited for a partition another member holds; printed %q", out.String())
	require.Equal(t, exitOK, code, errb.String())
	require.Len(t, lines(out.String()), 1, "its own partition's record")
}

// Ctrl-C ends a consume without --follow as it ends one with it, and a
// produce: exit 0, not "cairn consume: context canceled" and exit 1.
func TestConsumeInterruptIsClean(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel) // Ctrl-C while records are pending
	var out, errb syncBuffer
	err := consume(cctx, stdio{out: &out, err: &errb}, stuckBackend{}, "orders", consumeFlags{format: `%v\n`})
	require.NoError(t, err)
	require.Equal(t, exitOK, exitCode(stdio{out: &out, err: &errb}, "consume", err), errb.String())
}

// stuckBackend has a partition with records whose Poll waits for ever.
type stuckBackend struct{ backend }

func (stuckBackend) Partitions(context.Context, string) ([]cairn.PartitionInfo, error) {
	return []cairn.PartitionInfo{{Partition: 0, HighWatermark: 10}}, nil
}

func (stuckBackend) Consumer(context.Context, sourceOptions) (source, error) {
	return stuckSource{}, nil
}

type stuckSource struct{ source }

func (stuckSource) Poll(ctx context.Context) ([]*cairn.Record, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (stuckSource) Close() error { return nil }

// A missing topic is reported once, and -h shows --from's default once.
func TestMessagesOnce(t *testing.T) {
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
	r := cli(t, "", "consume", "nosuch", "--bootstrap="+s.addr)
	require.Equal(t, exitError, r.code)
	require.Equal(t, 1, strings.Count(r.err, "UNKNOWN_TOPIC_OR_PARTITION"), r.err)
	r = cli(t, "", "consume", "-h")
	require.Equal(t, 1, strings.Count(r.err, "(default earliest)"), r.err)
}

// A bad --advertise is a usage error before anything starts: it printed
// "serving Kafka on ..." (after creating the data directory) and then
// failed.
func TestServeBadAdvertise(t *testing.T) {
	for _, a := range []string{"foo", "foo:bar", "foo:0", "foo:70000", "foo:-1"} {
		dir := filepath.Join(t.TempDir(), "data")
		r := cli(t, "", "serve", "--dir", dir, "--listen", "127.0.0.1:0", "--advertise", a)
		require.Equal(t, exitUsage, r.code, "--advertise %s: stdout %q stderr %q", a, r.out, r.err)
		require.NotContains(t, r.err, "serving", "--advertise %s", a)
		require.NoDirExists(t, dir, "--advertise %s", a)
	}
}
