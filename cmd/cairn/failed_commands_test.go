package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
