package cairn_test

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestTombstoneCleanedBeforeUpgradeKept: a cleaner state in the 32-byte
// form (written by a version that did not record when its checkpoint
// moved) does not say when its tombstones were first cleaned, so they
// must not count as cleaned long ago: one the old version first cleaned
// a minute before the upgrade must stay delete.retention.ms.
func TestTombstoneCleanedBeforeUpgradeKept(t *testing.T) {
	c := newClock()
	fs := vfs.NewMem()
	b, _ := oldTombstone(t, fs, c) // first cleaning: "v" goes, the tombstone stays
	require.NoError(t, b.Close())

	// The state as the previous version wrote it: its first 32 bytes.
	db, err := pebble.Open("data", &pebble.Options{FS: fs, Logger: silentLog{}})
	require.NoError(t, err)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{'c'}, UpperBound: []byte{'d'}})
	require.NoError(t, err)
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Len(t, it.Value(), 72)
		require.NoError(t, db.Set(append([]byte(nil), it.Key()...), append([]byte(nil), it.Value()[:32]...), pebble.Sync))
		n++
	}
	require.NoError(t, it.Close())
	require.NoError(t, db.Close())
	require.Equal(t, 1, n)

	b = openClean(t, fs, c, nil)
	defer b.Close()
	c.Add(time.Minute) // well within delete.retention.ms of its first cleaning
	_, err = b.Append(ctx, "tbl", 0, kv("other", "y"))
	require.NoError(t, err)
	require.NoError(t, b.Cleanup(ctx))
	recs := readAll(t, b, "tbl", 0)
	require.NotEmpty(t, recs)
	require.Equal(t, "k", string(recs[0].Key), "the tombstone went a minute after its first cleaning, across the upgrade")

	// It still goes in the end.
	for range 3 {
		c.Add(time.Hour)
		_, err = b.Append(ctx, "tbl", 0, kv("other", "z"))
		require.NoError(t, err)
		require.NoError(t, b.Cleanup(ctx))
	}
	recs = readAll(t, b, "tbl", 0)
	require.Equal(t, "other", string(recs[0].Key), "the tombstone outlived delete.retention.ms")
}
