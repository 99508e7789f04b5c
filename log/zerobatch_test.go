package log

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The zero Batch has no records: Filter says so instead of panicking,
// as Records reads it as empty.
func TestZeroBatchFilter(t *testing.T) {
	out, kept, err := Batch{}.Filter(func(*Record) bool { return true })
	require.ErrorIs(t, err, ErrEmptyBatch)
	require.Nil(t, out)
	require.Zero(t, kept)
}
