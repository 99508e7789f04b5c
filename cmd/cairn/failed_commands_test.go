package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A consume whose stdout fails must fail and must not commit what it
// could not print.
func TestConsumeWriteErrorCommits(t *testing.T) {
	d := "--dir=" + filepath.Join(t.TempDir(), "data")
	ok(t, "", "topics", "create", "orders", d)
	ok(t, "a\nb\nc\n", "produce", "orders", d)
	var errb strings.Builder
	code := run(ctx, []string{"consume", "orders", "--group", "g", d}, stdio{in: strings.NewReader(""), out: failWriter{}, err: &errb})
	require.Equal(t, exitError, code, "stdout failed; stderr %q", errb.String())
	require.Equal(t, "a\nb\nc\n", ok(t, "", "consume", "orders", "--group", "g", d), "nothing was printed, so nothing is committed")
}

// Produce reports every record it appended, also those after a failed one.
func TestProduceReportsAllAppended(t *testing.T) {
	d := "--dir=" + filepath.Join(t.TempDir(), "data")
	for i := range 10 {
		name := fmt.Sprint("t", i)
		ok(t, "", "topics", "create", name, "--config", "max.message.bytes=200", d)
		r := cli(t, "a\n"+strings.Repeat("x", 500)+"\nc\nd\n", "produce", name, d)
		require.Equal(t, exitError, r.code)
		stored := lines(ok(t, "", "consume", name, "--format", `partition %p offset %o\n`, d))
		require.Equal(t, stored, lines(r.out), "stdout names every appended record; stderr %q", r.err)
		require.Contains(t, r.err, fmt.Sprintf("produced %d records", len(stored)))
	}
}

// A failed `topics create` leaves no data directory behind.
func TestCreateFailLeavesNoDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "sub")
	r := cli(t, "", "topics", "create", "bad", "--config", "retention.ms=soon", "--dir", dir)
	require.Equal(t, exitError, r.code)
	require.NoDirExists(t, filepath.Dir(dir))
	ok(t, "", "topics", "create", "good", "--dir", dir)
	require.DirExists(t, dir)
}

// A serve that cannot listen leaves no data directory behind.
func TestServeListenFailLeavesNoDir(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	r := cli(t, "", "serve", "--dir", dir, "--listen", ln.Addr().String())
	require.Equal(t, exitError, r.code)
	require.NoDirExists(t, dir)
}

// A command on a directory that holds no Cairn data fails like one on
// a missing directory, and writes nothing into it.
func TestNonDataDirUntouched(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"consume", "t"}, {"groups"}, {"topics"}} {
		r := cli(t, "", append(args, "--dir", dir)...)
		require.Equal(t, exitError, r.code, args)
		require.Contains(t, r.err, "no data directory", args)
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, ents, "a failed command wrote a store into %s", dir)
}

// "--" as a flag's value is not the end of the flags.
func TestDashDashFlagValue(t *testing.T) {
	d := "--dir=" + filepath.Join(t.TempDir(), "data")
	ok(t, "", "topics", "create", "orders", d)
	require.Equal(t, "partition 0 offset 0\n", ok(t, "k--v\n", "produce", "--key-sep", "--", "orders", d))
	require.Equal(t, []string{"k=v"}, lines(ok(t, "", "consume", "orders", "--format", `%k=%v\n`, d)))
	pos, err := parse(newFlags(stdio{err: &strings.Builder{}}, "x", ""), []string{"a", "--", "-n"})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "-n"}, pos, "a real terminator still ends the flags")
}

// A --dir under a symlink whose target is missing (a volume not mounted,
// say) cannot be created; the failed create must not delete the user's
// symlink, which it did not make.
func TestCreateKeepsDanglingSymlink(t *testing.T) {
	tmp := t.TempDir()
	link := filepath.Join(tmp, "data")
	require.NoError(t, os.Symlink(filepath.Join(tmp, "mnt", "disk"), link))
	r := cli(t, "", "topics", "create", "orders", "--dir", filepath.Join(link, "cairn"))
	require.Equal(t, exitError, r.code, r.err)
	_, err := os.Lstat(link)
	require.NoError(t, err, "the failed create removed the symlink %s; stderr %q", link, r.err)
}

// Another process may make the new --dir between a command's look and its
// open. A failed command must not remove what that process made: neither
// a directory it holds (the command cannot open it), nor one it made a
// topic in and let go.
func TestFailedCommandKeepsOthersDir(t *testing.T) {
	t.Cleanup(func() { beforeOpen = nil })
	for _, tc := range []struct {
		name  string
		other func(t *testing.T, dir string) // runs between the look and the open
		args  func(t *testing.T, dir string) []string
	}{
		{"create, held", holdDir, createBad},
		{"create, let go", topicInDir, createBad},
		{"serve, let go", topicInDir, serveHeldPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			beforeOpen = func(string) { tc.other(t, dir) }
			r := cli(t, "", tc.args(t, dir)...)
			beforeOpen = nil
			require.Equal(t, exitError, r.code, r.err)
			release(t)
			b, err := cairn.Open(dir, nil)
			require.NoError(t, err, "stderr %q", r.err)
			defer b.Close()
			ts, err := b.Topics(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{"theirs"}, ts, "the other process's topic is kept")
		})
	}
}

// topicInDir makes dir a store with the topic "theirs", and closes it.
func topicInDir(t *testing.T, dir string) {
	b, err := cairn.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic(ctx, "theirs", 1, nil))
	require.NoError(t, b.Close())
}

// holdDir is topicInDir keeping the store open (locked) until release.
func holdDir(t *testing.T, dir string) {
	topicInDir(t, dir)
	b, err := cairn.Open(dir, nil)
	require.NoError(t, err)
	held = append(held, b)
}

var held []io.Closer

// release closes what holdDir and serveHeldPort hold.
func release(t *testing.T) {
	for _, c := range held {
		require.NoError(t, c.Close())
	}
	held = nil
}

func createBad(_ *testing.T, dir string) []string {
	return []string{"topics", "create", "bad", "--config", "retention.ms=soon", "--dir", dir}
}

// serveHeldPort is a serve that cannot listen: its port is taken.
func serveHeldPort(t *testing.T, dir string) []string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	held = append(held, ln)
	return []string{"serve", "--dir", dir, "--listen", ln.Addr().String()}
}
