package log

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The zero Batch is documented as valid ("empty and reports no
// records"): stamping it is a no-op, not an index out of range.
func TestZeroBatchSettersBadInput(t *testing.T) {
	var b Batch
	require.NotPanics(t, func() { b.SetBaseOffset(5) })
	require.NotPanics(t, func() { b.SetLogAppendTime(time.Now()) })
	require.NoError(t, b.SetCreateTime())
	require.Zero(t, b.Len())
	require.Zero(t, b.NumRecords())
}

// A timestamp whose milliseconds do not fit an int64 was encoded with
// UnixMilli's wrapped value: the record read back stamped 1970. Two
// timestamps whose difference does not fit wrapped the delta. Both are
// refused, and the Builder is left as it was.
func TestTimestampRangeBadInput(t *testing.T) {
	now := time.Now()
	for name, recs := range map[string][]Record{
		"far future":   {{Timestamp: time.Unix(1<<62, 0)}},
		"far past":     {{Timestamp: time.Unix(-1<<62, 0)}},
		"delta":        {{Timestamp: time.UnixMilli(math.MinInt64 + 1)}, {Timestamp: time.UnixMilli(math.MaxInt64)}},
		"delta future": {{Timestamp: time.UnixMilli(math.MaxInt64)}, {Timestamp: time.UnixMilli(-10)}},
	} {
		_, err := Encode(nil, recs, None, nil, now)
		require.ErrorIs(t, err, ErrInvalidRecord, name)
		require.ErrorIs(t, err, ErrCorruptBatch, name)
	}
	// The extremes themselves are fine, and read back as given.
	for _, ms := range []int64{math.MinInt64, math.MaxInt64, -1, 0} {
		raw, err := Encode(nil, []Record{{Timestamp: time.UnixMilli(ms)}}, None, nil, now)
		require.NoError(t, err)
		b, err := Parse(raw)
		require.NoError(t, err)
		recs, err := b.ValidRecords(nil)
		require.NoError(t, err)
		require.Equal(t, ms, recs[0].Timestamp.UnixMilli())
	}

	var bl Builder
	require.NoError(t, bl.Add(&Record{Value: []byte("v")}, now))
	n, size := bl.Len(), bl.Size()
	require.ErrorIs(t, bl.Add(&Record{Timestamp: time.Unix(1<<62, 0)}, now), ErrInvalidRecord)
	require.ErrorIs(t, bl.Add(nil, now), ErrInvalidRecord)
	require.Equal(t, n, bl.Len())
	require.Equal(t, size, bl.Size())
}
