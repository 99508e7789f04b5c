package partition

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadDuringDeleteRecordsNeverSkips: a read at an offset that
// DeleteRecords (or retention) removes while the read runs must fail with
// an *OffsetError, as Kafka's read does below the log start, not return the
// batches after the deleted range as if they followed the offset: a
// consumer with ResetError or ResetLatest, or a Kafka client with
// auto.offset.reset=none or latest, then skipped to the new log start
// silently, with the Fetch still giving the old log start.
func TestReadDuringDeleteRecordsNeverSkips(t *testing.T) {
	p := newPartition(t, false)
	const n = 300
	for range n {
		_, err := p.Append(ctx, recs(1, "a"))
		require.NoError(t, err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int64(1); i <= n; i++ {
			select {
			case <-done:
				return
			default:
			}
			if err := p.DeleteRecords(ctx, i); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(done); wg.Wait() }()
	for {
		at := p.LogStart()
		if at >= n {
			return
		}
		f, err := p.Read(at, 1)
		if oe := (*OffsetError)(nil); errors.As(err, &oe) {
			require.Greater(t, oe.LogStart, at)
			continue
		}
		require.NoError(t, err)
		require.NotEmpty(t, f.Batches)
		require.LessOrEqual(t, f.Batches[0].BaseOffset(), at,
			"read at %d (log start %d in the answer) skipped to %d without an error", at, f.LogStart, f.Batches[0].BaseOffset())
	}
}
