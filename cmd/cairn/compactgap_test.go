package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// compactsFirst is a data directory backend on which, after consume took
// the partitions' ends and before it fetched, a record of the same key is
// appended and the log cleaner runs: as `cairn serve` does on a compacted
// topic with live traffic while `consume --bootstrap` reads it.
type compactsFirst struct {
	*local
}

func (c compactsFirst) Consumer(ctx context.Context, o sourceOptions) (source, error) {
	for _, v := range []string{"v2", "v3"} { // the cleaner leaves the newest batch
		if _, err := c.b.Append(ctx, o.Topic, 0, cairn.Record{Key: []byte("k"), Value: []byte(v)}); err != nil {
			return nil, err
		}
	}
	if err := c.b.Cleanup(ctx); err != nil {
		return nil, err
	}
	return c.local.Consumer(ctx, o)
}

// consume without --follow ends at each partition's end as of its start,
// also when the cleaner removed the record just below that end (a later
// record of its key superseded it): the consumer then sees only records at
// or past the end. It waited for ever for the removed one.
func TestConsumeEndsPastCompactedTail(t *testing.T) {
	l, err := openLocal(filepath.Join(t.TempDir(), "data"))
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic(ctx, "c", 1, map[string]string{
		"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01", "min.compaction.lag.ms": "0"}))
	for _, v := range []string{"v0", "v1"} { // two batches
		_, err := l.b.Append(ctx, "c", 0, cairn.Record{Key: []byte("k"), Value: []byte(v)})
		require.NoError(t, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- consume(cctx, stdio{out: &out, err: &out}, compactsFirst{l}, "c", consumeFlags{format: `%o %v\n`})
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
		require.NotContains(t, out.String(), "v3", "appended after the start")
	case <-time.After(10 * time.Second):
		cancel()
		<-done
		t.Fatalf("consume without --follow hung: the record below the partition's end was compacted away (printed %q)", out.String())
	}
}
