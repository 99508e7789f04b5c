package cairn_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestOffsetForTimeRacesDeleteRecords: a lookup by time racing retention
// (here DeleteRecords, which retention calls) failed with
// ErrOffsetOutOfRange for an offset the caller never passed, whenever the
// log start moved past the batch the time index named before it was read;
// Kafka's ListOffsets by time never answers OFFSET_OUT_OF_RANGE. It failed
// within the first few dozen deletions here.
func TestOffsetForTimeRacesDeleteRecords(t *testing.T) {
	c := newClock()
	b := openClean(t, vfs.NewMem(), c, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	const n = 300
	for i := 0; i < n; i++ {
		_, err := b.Append(ctx, "t", 0, cairn.Record{Value: []byte("v"), Timestamp: time.UnixMilli(int64(1000 + i))})
		require.NoError(t, err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for off := int64(1); off < n && !stop.Load(); off++ {
			if err := b.DeleteRecords(ctx, "t", 0, off); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var bad error
	for bad == nil {
		ls, _, _ := b.Watermarks("t", 0)
		if ls >= n-1 {
			break
		}
		_, _, err := b.OffsetForTime(ctx, "t", 0, time.UnixMilli(1000+ls))
		if err != nil {
			bad = err
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad != nil {
		t.Fatalf("OffsetForTime: %v (out of range: %v)", bad, errors.Is(bad, cairn.ErrOffsetOutOfRange))
	}
}
