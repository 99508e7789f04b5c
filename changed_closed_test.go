package cairn_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A partition handle of a deleted topic answers ErrClosed, and its
// Changed returns a closed channel: it returned one nothing would ever
// close, so a reader selecting on it waited for good.
func TestChangedAfterDeleteTopicBadInput(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	part, err := b.Partition("t", 0)
	require.NoError(t, err)
	require.NoError(t, b.DeleteTopic(ctx, "t"))
	_, err = part.Read(0, 100)
	require.ErrorIs(t, err, cairn.ErrClosed)
	select {
	case <-part.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("Changed of a deleted topic's partition is never closed")
	}
	// And far-future times resolve past every record.
	require.NoError(t, b.CreateTopic(ctx, "u", 1, nil))
	_, err = b.Append(ctx, "u", 0, cairn.Record{Value: []byte("v")})
	require.NoError(t, err)
	off, ok, err := b.OffsetForTime(ctx, "u", 0, time.Unix(1<<62, 0))
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, int64(1), off)
}
