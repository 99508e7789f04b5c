package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

func TestParseIntersperse(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		n    int
	}{
		{[]string{"a", "-n", "3", "b"}, []string{"a", "b"}, 3},
		{[]string{"-n", "3", "a"}, []string{"a"}, 3},
		{[]string{"a", "--", "-n", "4"}, []string{"a", "-n", "4"}, 0},
		{nil, nil, 0},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n := fs.Int("n", 0, "")
		pos, err := parse(fs, tc.args)
		require.NoError(t, err, tc.args)
		require.Equal(t, tc.pos, pos, tc.args)
		require.Equal(t, tc.n, *n, tc.args)
	}
}

func TestParseOffset(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      offsetSpec
		bad       bool
		logStart  int64
		hwm       int64
		resolving int64
	}{
		{in: "earliest", want: offsetSpec{kind: earliest}, logStart: 3, hwm: 9, resolving: 3},
		{in: "latest", want: offsetSpec{kind: latest}, logStart: 3, hwm: 9, resolving: 9},
		{in: "5", want: offsetSpec{kind: exact, offset: 5}, logStart: 3, hwm: 9, resolving: 5},
		{in: "1", want: offsetSpec{kind: exact, offset: 1}, logStart: 3, hwm: 9, resolving: 3},
		{in: "99", want: offsetSpec{kind: exact, offset: 99}, logStart: 3, hwm: 9, resolving: 9},
		{in: "-1", bad: true},
		{in: "soon", bad: true},
	} {
		got, err := parseOffset(tc.in)
		if tc.bad {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
		require.Equal(t, tc.resolving, got.resolve(tc.logStart, tc.hwm), tc.in)
	}
}

func TestFormat(t *testing.T) {
	r := &cairn.Record{Topic: "t", Partition: 2, Offset: 7, Key: []byte("k"), Value: []byte("v"),
		Timestamp: time.UnixMilli(1234), Headers: []cairn.Header{{Key: "a", Value: []byte("1")}, {Key: "b"}}}
	for _, tc := range []struct{ format, want string }{
		{`%v\n`, "v\n"},
		{`%t/%p@%o %k=%v %T [%h]\t%%`, "t/2@7 k=v 1234 [a=1,b=]\t%"},
		{`%x \q %`, `%x \q %`},
		{`\\%v`, `\v`},
	} {
		require.Equal(t, tc.want, string(compileFormat(tc.format)(nil, r)), tc.format)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"topics", "frob"},
		{"topics", "create"},
		{"topics", "list", "extra"},
		{"topics", "--no-such-flag"},
		{"consume"},
		{"consume", "t", "--from", "soon"},
		{"groups", "reset", "g"},
		{"produce", "a", "b"},
		{"serve", "extra"},
		{"serve", "--durability", "sometimes"},
		{"serve", "--default-partitions", "0"},
		{"produce", "t", "--partition", "-5"},
		{"produce", "t", "--partition", "4294967297"},
		// Flags of another verb, which were ignored.
		{"topics", "describe", "t", "--config", "retention.ms=1"},
		{"topics", "list", "--partitions", "3"},
		{"groups", "lag", "g", "--topic", "t"},
		{"groups", "describe", "g", "--to", "earliest"},
	} {
		require.Equal(t, exitUsage, cli(t, "", args...).code, args)
	}
	r := cli(t, "", "topics", "delete", "t", "--partitions", "2")
	require.Contains(t, r.err, "--partitions applies to create only")
	r = cli(t, "", "topics", "-h")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.err, "usage: cairn topics")
	require.Equal(t, exitOK, run(ctx, []string{"help"}, stdio{out: io.Discard, err: io.Discard}))
}
