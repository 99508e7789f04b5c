package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stopsFirst is a backend whose listener stops after consume looked up
// what it has to print and before it fetches.
type stopsFirst struct {
	backend
	stop func() error
}

func (s stopsFirst) Consumer(ctx context.Context, o sourceOptions) (source, error) {
	s.stop()
	return s.backend.Consumer(ctx, o)
}

// consume --bootstrap (without --follow) against a listener that stops
// fails in bounded time.
func TestConsumeListenerStops(t *testing.T) {
	for _, g := range []string{"", "g"} {
		s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
		b := "--bootstrap=" + s.addr
		ok(t, "", "topics", "create", "t", b)
		ok(t, "a\nb\nc\n", "produce", "t", b)
		r, err := newRemote(s.addr)
		require.NoError(t, err)
		done := make(chan error, 1)
		var out syncBuffer
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			done <- consume(cctx, stdio{out: &out, err: &out}, stopsFirst{r, s.stop}, "t", consumeFlags{group: g, format: `%v\n`})
		}()
		select {
		case err := <-done:
			t.Logf("group %q: %v", g, err)
			require.Error(t, err)
		case <-time.After(2*retryTimeout + 10*time.Second):
			cancel()
			<-done
			r.Close()
			t.Fatalf("group %q: consume hung on a stopped listener", g)
		}
		cancel()
		r.Close()
	}
}
