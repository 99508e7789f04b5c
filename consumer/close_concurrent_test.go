package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// blockedCommits holds every commit until release is closed, then
// refuses it.
type blockedCommits struct {
	*cairn.Broker
	entered chan struct{}
	release chan struct{}
}

func (b blockedCommits) CommitOffsets(ctx context.Context, _ group.CommitRequest) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	return errCommitDown
}

// A Close while another Close is still committing and leaving must wait
// for it and report the same outcome, as producer.Close now does: it
// returned nil at once, before the final commit (which then failed) and
// before the member left, so a caller that closes from two places (a
// signal handler and a defer) learns of neither.
func TestConcurrentCloseWaitsForFirst(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 5, "v")
	bc := blockedCommits{Broker: b, entered: make(chan struct{}, 1), release: make(chan struct{})}
	o := groupOpts("g", "t")
	o.AutoCommitInterval = time.Hour // only Close commits
	c := newConsumer(t, bc, o)
	pollN(t, c, 5)
	first := make(chan error, 1)
	go func() { first <- c.Close() }()
	<-bc.entered // the first Close is in its final commit
	second := make(chan error, 1)
	go func() { second <- c.Close() }()
	select {
	case err := <-second:
		close(bc.release)
		<-first
		t.Fatalf("second Close returned %v while the first was still committing", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(bc.release)
	require.ErrorIs(t, <-first, errCommitDown)
	require.ErrorIs(t, <-second, errCommitDown, "both Closes report the lost commit")
	require.ErrorIs(t, c.Close(), errCommitDown, "a later Close reports it too, as producer.Close")
}
