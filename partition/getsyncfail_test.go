package partition

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A Get of a key whose latest append failed its fsync waits for that
// record to become visible, which it never will: the Get must return the
// partition's failure, not wait for good.
func TestGetAfterFailedSyncReturns(t *testing.T) {
	fs := &failFS{FS: vfs.NewMem(), release: make(chan struct{})}
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: silent{}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Sync: true,
		Config: Config{MaxMessageBytes: 1 << 20, Compacted: true}})
	require.NoError(t, err)
	defer p.Close()

	b, err := log.Build([]log.Record{{Key: []byte("k"), Value: []byte("v")}}, log.None, nil, time.Now())
	require.NoError(t, err)
	fs.armed.Store(true)
	_, wait, err := p.AppendLogBatchAsync(ctx, b)
	require.NoError(t, err)
	close(fs.release)
	require.Error(t, wait()) // the fsync failed: the partition refuses appends

	gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = p.Get(gctx, []byte("k"))
	require.Error(t, err)
	require.NotErrorIs(t, err, context.DeadlineExceeded, "Get waited for a record that can never become visible")
	require.ErrorContains(t, err, "injected fsync failure")
}
