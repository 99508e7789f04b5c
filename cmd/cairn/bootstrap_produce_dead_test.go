package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// produce --bootstrap against a listener that has stopped must fail in
// bounded time, as every other command does (they fail at once).
func TestProduceDeadListener(t *testing.T) {
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
	b := "--bootstrap=" + s.addr
	ok(t, "", "topics", "create", "t", b)
	require.NoError(t, s.stop())
	done := make(chan result, 1)
	go func() {
		var out, errb syncBuffer
		code := run(ctx, []string{"produce", "t", b}, stdio{in: strings.NewReader("x\n"), out: &out, err: &errb})
		done <- result{out: out.String(), err: errb.String(), code: code}
	}()
	select {
	case r := <-done:
		require.Equal(t, exitError, r.code, r.err)
	case <-time.After(2*retryTimeout + 10*time.Second):
		t.Fatal("produce --bootstrap to a stopped listener hung")
	}
}
