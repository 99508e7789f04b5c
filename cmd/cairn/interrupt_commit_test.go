package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// ctrlCAfterPoll is a backend whose consumer's first Poll with records
// cancels the command's ctx before it returns them: Ctrl-C after the
// records were fetched, before they were printed and committed.
type ctrlCAfterPoll struct {
	backend
	cancel func()
}

func (b ctrlCAfterPoll) Consumer(ctx context.Context, o sourceOptions) (source, error) {
	src, err := b.backend.Consumer(ctx, o)
	return ctrlCSource{src, b.cancel}, err
}

type ctrlCSource struct {
	source
	cancel func()
}

func (s ctrlCSource) Poll(ctx context.Context) ([]*cairn.Record, error) {
	recs, err := s.source.Poll(ctx)
	if len(recs) > 0 {
		s.cancel()
	}
	return recs, err
}

// Ctrl-C ends consume --follow cleanly, and what it printed is committed,
// as the command says. Through a Kafka listener the commit was sent with
// the interrupted ctx: it failed, and its error was taken for the Ctrl-C,
// so the command exited 0 with printed records uncommitted (the group's
// next consume printed them again).
func TestConsumeInterruptCommitsPrinted(t *testing.T) {
	r := servedABC(t)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out, errb syncBuffer
	err := consume(cctx, stdio{out: &out, err: &errb}, ctrlCAfterPoll{r, cancel}, "t",
		consumeFlags{group: "g", follow: true, format: `%v\n`})
	require.NoError(t, err)
	printed := len(lines(out.String()))
	require.NotZero(t, printed)
	committed, err := r.Committed(ctx, "g", "t")
	require.NoError(t, err)
	require.Equal(t, map[int32]int64{0: int64(printed)}, committed, "printed %q", out.String())
}

// servedABC starts cairn serve with a topic t holding the records a, b
// and c, and returns a client of it, closed when the test ends.
func servedABC(t *testing.T) *remote {
	t.Helper()
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
	b := "--bootstrap=" + s.addr
	ok(t, "", "topics", "create", "t", b)
	ok(t, "a\nb\nc\n", "produce", "t", b)
	r, err := newRemote(s.addr)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}
