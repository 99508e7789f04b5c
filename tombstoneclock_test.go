package cairn_test

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestTombstoneExpiresAfterClockStepsBack: a cleaning pass while the
// clock was a year ahead (a bad clock, then corrected) must not keep
// every later tombstone for that year: once corrected, a tombstone still
// goes about delete.retention.ms after its first cleaning.
func TestTombstoneExpiresAfterClockStepsBack(t *testing.T) {
	c := newClock()
	b := openClean(t, vfs.NewMem(), c, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted("delete.retention.ms", "3600000")))
	step := func(k, v string) {
		_, err := b.Append(ctx, "tbl", 0, kv(k, v))
		require.NoError(t, err)
		require.NoError(t, b.Cleanup(ctx))
	}
	step("k", "v")
	step("other", "a")
	const jump = 365 * 24 * time.Hour
	c.Add(jump) // the clock steps a year ahead for one pass...
	step("other", "b")
	c.Add(-jump + time.Minute) // ...and is corrected
	step("k", "")
	step("other", "c") // the tombstone's first cleaning
	for range 36 {     // six hours of passes every ten minutes
		c.Add(10 * time.Minute)
		step("other", "d")
	}
	for _, r := range readAll(t, b, "tbl", 0) {
		require.NotEqual(t, "k", string(r.Key), "the tombstone outlived delete.retention.ms by far")
	}
}
