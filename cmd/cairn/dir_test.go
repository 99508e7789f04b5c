package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

func TestDirTopics(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := "--dir=" + dir
	require.Equal(t, "created topic orders with 3 partitions\n",
		ok(t, "", "topics", "create", "orders", "--partitions", "3", "--config", "retention.ms=60000", d))
	ok(t, "", "topics", "create", "audit", d)
	require.Equal(t, []string{"audit", "orders"}, lines(ok(t, "", "topics", d)))
	require.Equal(t, []string{"audit", "orders"}, lines(ok(t, "", "topics", "list", d)))

	desc := ok(t, "", "topics", "describe", "orders", d)
	require.Contains(t, desc, "topic orders (id ")
	require.Contains(t, desc, "3 partitions")
	require.Contains(t, desc, "  retention.ms=60000\n", "an override is not marked default")
	require.Contains(t, desc, "  cleanup.policy=delete  (default)\n")

	r := cli(t, "", "topics", "create", "orders", d)
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.err, cairn.ErrTopicExists.Error())
	r = cli(t, "", "topics", "create", "bad", "--config", "retention.ms=soon", d)
	require.Equal(t, exitError, r.code, "a bad config is refused")

	require.Equal(t, "deleted topic audit\n", ok(t, "", "topics", "delete", "audit", d))
	require.Equal(t, []string{"orders"}, lines(ok(t, "", "topics", d)))
	r = cli(t, "", "topics", "describe", "audit", d)
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.err, "unknown topic")
}

func TestDirNoDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{{"topics"}, {"consume", "t"}, {"produce", "t"}, {"groups"}} {
		r := cli(t, "", append(args, "--dir", dir)...)
		require.Equal(t, exitError, r.code, args)
		require.Contains(t, r.err, "no data directory", args)
	}
	require.NoDirExists(t, dir, "only `topics create` creates the directory")
}

func TestDirInUse(t *testing.T) {
	dir := t.TempDir()
	b, err := cairn.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	r := cli(t, "", "topics", "--dir", dir)
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.err, "data directory in use")
	require.Contains(t, r.err, "is `cairn serve` running? use --bootstrap")
}

func TestDirProduceConsume(t *testing.T) {
	d := "--dir=" + t.TempDir()
	ok(t, "", "topics", "create", "events", "--partitions", "2", d)
	out := ok(t, "a\nb\nc\n", "produce", "events", "--partition", "1", d)
	require.Equal(t, "partition 1 offset 0\npartition 1 offset 1\npartition 1 offset 2\n", out)
	out = ok(t, "k1:v1\r\nk2:v:2\nnokey\n", "produce", "events", "--partition", "0", "--key-sep", ":", d)
	require.Len(t, lines(out), 3)

	all := `%p %o %k=%v\n`
	require.Equal(t, []string{"0 0 k1=v1", "0 1 k2=v:2", "0 2 =nokey", "1 0 =a", "1 1 =b", "1 2 =c"},
		sorted(lines(ok(t, "", "consume", "events", "--format", all, d))))
	require.Equal(t, []string{"0 1 k2=v:2", "0 2 =nokey", "1 1 =b", "1 2 =c"},
		sorted(lines(ok(t, "", "consume", "events", "--from", "1", "--format", all, d))))
	require.Empty(t, ok(t, "", "consume", "events", "--from", "latest", d), "nothing after the end")
	require.Len(t, lines(ok(t, "", "consume", "events", "-n", "4", d)), 4)

	out = ok(t, "x\ny\n", "produce", "events", "--quiet", d)
	require.Empty(t, out)
	require.Len(t, lines(ok(t, "", "consume", "events", d)), 8)

	r := cli(t, "z\n", "produce", "nope", d)
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.err, "unknown topic")
}

func sorted(ss []string) []string {
	slices.Sort(ss)
	return ss
}

func TestDirGroups(t *testing.T) {
	d := "--dir=" + t.TempDir()
	ok(t, "", "topics", "create", "jobs", d)
	ok(t, "a\nb\nc\nd\ne\n", "produce", "jobs", d)

	// A group consumer prints two records and commits only those.
	require.Len(t, lines(ok(t, "", "consume", "jobs", "--group", "workers", "-n", "2", d)), 2)
	require.Contains(t, ok(t, "", "groups", d), "workers")
	lag := ok(t, "", "groups", "lag", "workers", d)
	require.Contains(t, lag, "total lag 3\n", lag)

	// The next run starts at the committed offsets and ends at the end.
	require.Len(t, lines(ok(t, "", "consume", "jobs", "--group", "workers", d)), 3)
	require.Contains(t, ok(t, "", "groups", "lag", "workers", d), "total lag 0\n")
	require.Empty(t, ok(t, "", "consume", "jobs", "--group", "workers", d), "nothing left")

	desc := ok(t, "", "groups", "describe", "workers", d)
	require.Contains(t, desc, "group workers: Empty")

	reset := ok(t, "", "groups", "reset", "workers", "--topic", "jobs", "--to", "earliest", d)
	require.Equal(t, []string{"TOPIC  PARTITION  NEW-OFFSET", "jobs   0          0"}, lines(reset))
	require.Contains(t, ok(t, "", "groups", "lag", "workers", d), "total lag 5\n")
	ok(t, "", "groups", "reset", "workers", "--topic", "jobs", "--to", "4", d)
	require.Equal(t, []string{"e"}, lines(ok(t, "", "consume", "jobs", "--group", "workers", d)))
	r := cli(t, "", "groups", "reset", "workers", "--topic", "jobs", "--to", "9", d)
	require.Equal(t, exitError, r.code, "an offset past the end is refused")

	require.Equal(t, "deleted group workers\n", ok(t, "", "groups", "delete", "workers", d))
	require.NotContains(t, ok(t, "", "groups", "list", d), "workers")
	r = cli(t, "", "groups", "describe", "workers", d)
	require.Equal(t, exitError, r.code)
	require.Contains(t, r.err, "unknown group")
}
