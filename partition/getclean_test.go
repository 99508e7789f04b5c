package partition

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestGetRacesCleaner: key k always has a live value (v1, then v2), but
// a Get that looked up v1's offset and then read after the cleaner had
// removed v1 (superseded by v2) answered ErrKeyNotFound. getHook runs the
// newer append and the cleaning exactly there; the test slept instead,
// and failed about one run in six on a loaded machine.
func TestGetRacesCleaner(t *testing.T) {
	db := openDB(t, vfs.NewMem())
	defer db.Close()
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Sync: true,
		Config: Config{MaxMessageBytes: 1 << 20, Compacted: true}})
	require.NoError(t, err)
	defer p.Close()
	appendOne := func(k, v string) {
		var bl log.Builder
		b, err := bl.Build([]log.Record{{Key: []byte(k), Value: []byte(v)}}, log.None, nil, time.Now())
		require.NoError(t, err)
		_, err = p.AppendLogBatch(ctx, b)
		require.NoError(t, err)
	}
	appendOne("k", "v1")
	getHook = func() {
		getHook = nil
		appendOne("k", "v2")
		appendOne("other", "x") // so v2 is not in the uncleanable tail
		res, err := compaction.NewCleaner(compaction.Options{}).Clean(ctx, p, compaction.Policy{}, time.Now())
		require.NoError(t, err)
		require.EqualValues(t, 1, res.Removed, "v1 is gone")
	}
	defer func() { getHook = nil }()
	r, err := p.Get(ctx, []byte("k"))
	require.NoError(t, err, "k had a live value throughout")
	require.Equal(t, "v2", string(r.Value))
}
