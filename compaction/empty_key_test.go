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

// An empty key (not a null one) is a key like any other: cleaned to its
// latest record and found by Get.
func TestEmptyKeyCompacted(t *testing.T) {
	db := openTestDB(t, vfs.NewMem())
	defer db.Close()
	p, err := partition.Open(partition.Options{DB: db, Topic: "t", TopicID: 1, Config: partition.Config{MaxMessageBytes: 1 << 20, Compacted: true}})
	require.NoError(t, err)
	defer p.Close()
	for _, v := range []string{"a", "b", "c"} {
		_, err := p.Append(ctx, []log.Record{{Key: []byte{}, Value: []byte(v)}})
		require.NoError(t, err)
	}
	_, err = p.Append(ctx, []log.Record{{Key: []byte("x"), Value: []byte("x")}})
	require.NoError(t, err)
	res, err := compaction.NewCleaner(compaction.Options{}).Clean(ctx, p, compaction.Policy{}, time.Now())
	require.NoError(t, err)
	require.Positive(t, res.Removed)
	r, err := p.Get(ctx, []byte{})
	require.NoError(t, err)
	require.Equal(t, "c", string(r.Value))
	rs, err := p.ReadRecords(0, 1<<20)
	require.NoError(t, err)
	require.Len(t, rs, 2)
}
