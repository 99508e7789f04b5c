package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// server is a `cairn serve` running in-process.
type server struct {
	addr   string
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startServe runs `cairn serve` with args on a random loopback port until
// stop (or the test's end).
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	s := &server{stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	args = append([]string{"--listen", "127.0.0.1:0"}, args...)
	go func() {
		s.done <- serve(ctx, args, stdio{out: s.stderr, err: s.stderr}, func(a net.Addr) { addrc <- a.String() })
	}()
	select {
	case s.addr = <-addrc:
	case err := <-s.done:
		t.Fatalf("cairn serve %s: %v\n%s", strings.Join(args, " "), err, s.stderr)
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// stop cancels the server as SIGINT does and returns its result.
func (s *server) stop() error {
	s.cancel()
	err, ok := <-s.done
	if ok {
		close(s.done)
	}
	return err
}

func TestServeStopsAndFlushes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := "--dir=" + dir
	ok(t, "", "topics", "create", "logs", d)
	ok(t, "one\ntwo\n", "produce", "logs", d)

	s := startServe(t, d, "--durability", "none")
	require.Contains(t, s.stderr.String(), "serving Kafka on "+s.addr)
	require.Contains(t, s.stderr.String(), "(durability none)", "named as the flag names it")
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()

	r := cli(t, "", "topics", d)
	require.Equal(t, exitError, r.code, "the server has the directory")
	require.Contains(t, r.err, "is `cairn serve` running? use --bootstrap")
	r = cli(t, "", "serve", d, "--listen", "127.0.0.1:0")
	require.Equal(t, exitError, r.code, "a second server")
	require.Contains(t, r.err, "data directory in use")

	require.NoError(t, s.stop(), "SIGINT is a clean exit")
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "connections are closed")
	require.Equal(t, []string{"one", "two"}, lines(ok(t, "", "consume", "logs", d)), "the directory is free again")
}

func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	dir := t.TempDir()
	r := cli(t, "", "serve", "--dir", dir, "--listen", ln.Addr().String())
	require.Equal(t, exitError, r.code, "the port is taken")
	ok(t, "", "topics", "--dir", dir) // and the broker was closed
}

func TestServeCancelledAtOnce(t *testing.T) {
	dir := t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var errb syncBuffer
	require.NoError(t, serve(cctx, []string{"--dir", dir, "--listen", "127.0.0.1:0"}, stdio{out: &errb, err: &errb}, nil))
	ok(t, "", "topics", "--dir", dir) // the broker was closed
}

// Lines end at "\n" or "\r\n", which the line reader drops; a value's
// own last "\r" (before a "\r\n") was trimmed too.
func TestProduceKeepsValueCarriageReturn(t *testing.T) {
	d := "--dir=" + filepath.Join(t.TempDir(), "data")
	ok(t, "", "topics", "create", "crlf", d)
	ok(t, "a\r\r\nb\r\nc\n", "produce", "crlf", d)
	require.Equal(t, "a\r|b|c|", ok(t, "", "consume", "crlf", d, "--format", `%v|`))
}
