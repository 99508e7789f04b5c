package cairn_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A record whose header has an empty key (valid since this change, as in
// Kafka) and an empty value is appended, then cannot be read: the decoder
// assumes a header takes 3 bytes, and this one takes 2.
func TestEmptyHeaderKeyAndValueReadBack(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	_, err := b.Append(ctx, "t", 0, cairn.Record{Value: []byte("v"), Headers: []cairn.Header{{Key: ""}}})
	require.NoError(t, err)
	recs, err := b.Read(ctx, "t", 0, 0, 1<<20)
	require.NoError(t, err, "the record just appended must read back")
	require.Len(t, recs, 1)
	require.Len(t, recs[0].Headers, 1)
}
