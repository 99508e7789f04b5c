package cairn_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/compaction"
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
