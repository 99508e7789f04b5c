package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// kcat runs kcat (librdkafka) against addr with args and stdin, and returns
// its standard output.
func kcat(t *testing.T, addr, stdin string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is not on PATH; install it with `apt-get update && apt-get install -y kcat` (.ci/run does): %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, path, append([]string{"-b", addr, "-q", "-X", "client.id=cairn-test"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestKcatMetadata(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "orders", 3, nil))
	require.NoError(t, b.CreateTopic(ctx, "events", 1, nil))
	var md struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string `json:"topic"`
			Partitions []struct {
				Partition int32 `json:"partition"`
				Leader    int32 `json:"leader"`
			} `json:"partitions"`
		} `json:"topics"`
	}
	require.NoError(t, json.Unmarshal([]byte(kcat(t, addr, "", "-L", "-J")), &md))
	require.Len(t, md.Brokers, 1)
	require.Equal(t, addr, md.Brokers[0].Name)
	got := map[string]int{}
	for _, tp := range md.Topics {
		got[tp.Topic] = len(tp.Partitions)
		for _, p := range tp.Partitions {
			require.Equal(t, md.Brokers[0].ID, p.Leader)
		}
	}
	require.Equal(t, map[string]int{"orders": 3, "events": 1}, got)
}

func TestKcatProduceConsume(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "orders", 2, nil))
	var in strings.Builder
	for i := range 20 {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
	}
	kcat(t, addr, in.String(), "-P", "-t", "orders", "-p", "1", "-K", ":")
	recs, err := b.Read(ctx, "orders", 1, 0, 1<<20)
	require.NoError(t, err)
	require.Len(t, recs, 20)
	for i, r := range recs {
		require.Equal(t, fmt.Sprint("k", i), string(r.Key))
		require.Equal(t, fmt.Sprint("v", i), string(r.Value))
	}
	appendValues(t, b, "orders", 1, 5) // partition 0, from inside

	out := kcat(t, addr, "", "-C", "-t", "orders", "-o", "beginning", "-e", "-f", `%p %o %k %s\n`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(lines)
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprintf("0 %d  0-%d", i, i))
	}
	for i := range 20 {
		want = append(want, fmt.Sprintf("1 %d k%d v%d", i, i, i))
	}
	sort.Strings(want)
	require.Equal(t, want, lines)
}

func TestKcatGroupConsume(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "events", 3, nil))
	appendValues(t, b, "events", 3, 10)
	out := kcat(t, addr, "", "-G", "kcat-group", "events", "-o", "beginning", "-c", "30",
		"-X", "auto.commit.interval.ms=100", "-f", `%s\n`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(lines)
	var want []string
	for p := range 3 {
		for i := range 10 {
			want = append(want, fmt.Sprintf("%d-%d", p, i))
		}
	}
	sort.Strings(want)
	require.Equal(t, want, lines)

	// kcat committed what it consumed as it left the group.
	lag, err := b.Groups().Lag(ctx, "kcat-group")
	require.NoError(t, err)
	require.Len(t, lag, 3)
	for _, l := range lag {
		require.Equal(t, int64(10), l.Committed, "partition %d", l.Partition)
	}
	d, err := b.Groups().DescribeGroup(ctx, "kcat-group")
	require.NoError(t, err)
	require.Empty(t, d.Members)
}
