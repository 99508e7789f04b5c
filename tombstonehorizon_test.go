package cairn_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestOldTombstoneKeptForDeleteRetention: a tombstone stays for
// delete.retention.ms after the pass that first cleaned it (Kafka,
// KIP-534), so a consumer that reads the topic from its start within that
// time sees the delete. One whose producer stamped it with an old
// CreateTime (a replay, a skewed clock) was dropped at the very next pass.
func TestOldTombstoneKeptForDeleteRetention(t *testing.T) {
	c := newClock()
	fs := vfs.NewMem()
	b, del := oldTombstone(t, fs, c)
	require.Equal(t, []cairn.Record{del}, stripped(readAll(t, b, "tbl", 0)[:1]))

	c.Add(time.Minute) // well within delete.retention.ms
	_, err := b.Append(ctx, "tbl", 0, kv("other", "y"))
	require.NoError(t, err)
	require.NoError(t, b.Cleanup(ctx))
	recs := readAll(t, b, "tbl", 0)
	require.NotEmpty(t, recs)
	require.Equal(t, "k", string(recs[0].Key), "the tombstone went a minute after its first cleaning")

	// Past delete.retention.ms since it was first cleaned, across a
	// restart, it goes.
	require.NoError(t, b.Close())
	b = openClean(t, fs, c, nil)
	defer b.Close()
	c.Add(2 * time.Hour)
	_, err = b.Append(ctx, "tbl", 0, kv("other", "z"))
	require.NoError(t, err)
	require.NoError(t, b.Cleanup(ctx))
	recs = readAll(t, b, "tbl", 0)
	require.NotEmpty(t, recs)
	require.Equal(t, "other", string(recs[0].Key), "the tombstone outlived delete.retention.ms")
}

// stripped keeps a record's key, value and timestamp.
func stripped(recs []cairn.Record) []cairn.Record {
	out := make([]cairn.Record, len(recs))
	for i, r := range recs {
		out[i] = cairn.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
	}
	return out
}

// oldTombstone opens a broker on fs with a compacted topic "tbl"
// (delete.retention.ms an hour) holding k=v, then k's tombstone stamped two
// days back, then other=x, and runs the first cleaning: v goes, the
// tombstone stays. It returns the broker and the tombstone.
func oldTombstone(t *testing.T, fs vfs.FS, c *clock) (*cairn.Broker, cairn.Record) {
	t.Helper()
	b := openClean(t, fs, c, nil)
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted("delete.retention.ms", "3600000")))
	_, err := b.Append(ctx, "tbl", 0, kv("k", "v"))
	require.NoError(t, err)
	del := kv("k", "")
	del.Timestamp = c.Now().Add(-48 * time.Hour)
	_, err = b.Append(ctx, "tbl", 0, del)
	require.NoError(t, err)
	_, err = b.Append(ctx, "tbl", 0, kv("other", "x"))
	require.NoError(t, err)
	require.NoError(t, b.Cleanup(ctx))
	return b, del
}
