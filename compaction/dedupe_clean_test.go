package compaction_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// An idempotent producer's retry is still recognised as a duplicate after
// the cleaner removed the batch it retries and the store restarted, and
// its next sequence is taken.
func TestDedupeAfterCleanRestart(t *testing.T) {
	fs := vfs.NewMem()
	db := openTestDB(t, fs)
	o := partition.Options{DB: db, Topic: "t", TopicID: 1, Config: partition.Config{MaxMessageBytes: 1 << 20, Compacted: true}}
	p, err := partition.Open(o)
	require.NoError(t, err)
	var bl log.Builder
	mk := func(seq int32, k string) []byte {
		b, err := bl.Build([]log.Record{{Key: []byte(k), Value: []byte("v")}}, log.None, &log.Producer{ID: 7, Epoch: 0, Sequence: seq}, time.Now())
		require.NoError(t, err)
		return append([]byte(nil), b.Bytes()...)
	}
	last := mk(0, "k")
	base, err := p.AppendBatch(ctx, last)
	require.NoError(t, err)
	_, err = p.Append(ctx, []log.Record{{Key: []byte("k"), Value: []byte("w")}})
	require.NoError(t, err)
	_, err = p.Append(ctx, []log.Record{{Key: []byte("z"), Value: []byte("w")}})
	require.NoError(t, err)
	res, err := compaction.NewCleaner(compaction.Options{}).Clean(ctx, p, compaction.Policy{}, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Removed)
	p.Close()
	require.NoError(t, db.Close())
	db = openTestDB(t, fs)
	defer db.Close()
	o.DB = db
	p, err = partition.Open(o)
	require.NoError(t, err)
	defer p.Close()
	hwm := p.HighWatermark()
	got, err := p.AppendBatch(ctx, last)
	require.NoError(t, err)
	require.Equal(t, base, got)
	require.Equal(t, hwm, p.HighWatermark())
	_, err = p.AppendBatch(ctx, mk(1, "q"))
	require.NoError(t, err)
}
