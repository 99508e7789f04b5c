package cairn_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/compaction"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// nil Options are documented valid ("The zero value (or nil) is valid");
// Validate on them does not panic.
func TestNilOptionsValidateBadInput(t *testing.T) {
	var o *cairn.Options
	require.NoError(t, o.Validate())
	var co *compaction.Options
	require.NoError(t, co.Validate())
}

// A batch whose magic is not 2 fails with an error the root package
// exports, as its doc promises of every error (log.ErrUnsupportedMagic
// was not re-exported).
func TestAppendBatchBadMagicExported(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem(), CleanupInterval: -1})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	_, err = b.AppendBatch(ctx, "t", 0, make([]byte, 61))
	require.ErrorIs(t, err, cairn.ErrUnsupportedMagic)
}
