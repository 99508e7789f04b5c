package cairntest_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/cairntest"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// memFSBytes is the size of the files in dir, which is memory on a MemFS.
func memFSBytes(t *testing.T, fs vfs.FS, dir string) int64 {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	var total int64
	for _, n := range names {
		st, err := fs.Stat(fs.PathJoin(dir, n))
		require.NoError(t, err)
		total += st.Size()
	}
	return total
}

// TestMemBrokerFreesDeletedData: an in-memory broker whose data was
// deleted must give the memory back, up to a few MB, once Pebble has
// dropped the files (the range deletion is flushed within
// FlushDelayDeleteRange, 10s). Pebble's recycled WAL files, each the size
// of a memtable, kept about 250 MB for good after 300 MB were written.
func TestMemBrokerFreesDeletedData(t *testing.T) {
	fs := vfs.NewMem()
	b := cairntest.NewBroker(t, cairntest.Options{Broker: cairn.Options{FS: fs, CleanupInterval: -1}})
	require.NoError(t, b.CreateTopic(ctx, "big", 1, nil))
	recs := make([]cairn.Record, 10)
	for i := range recs {
		recs[i].Value = make([]byte, 100<<10)
	}
	for range 300 { // 300 MB
		_, err := b.Append(ctx, "big", 0, recs...)
		require.NoError(t, err)
	}
	require.NoError(t, b.DeleteTopic(ctx, "big"))
	var held int64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if held = memFSBytes(t, fs, "cairn"); held < 32<<20 {
			return
		}
	}
	t.Fatalf("the broker holds %d MB after its data was deleted", held>>20)
}
