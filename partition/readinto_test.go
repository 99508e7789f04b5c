package partition

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/cairnlog/cairn/log"
	"github.com/stretchr/testify/require"
)

// ReadInto returns what Read returns. Batches that do not fit in buf go to
// a new, larger buffer without moving the ones already copied, and a read
// into the returned buffer reuses it.
func TestReadInto(t *testing.T) {
	p := newPartition(t, false)
	for i := range 10 {
		_, err := p.Append(ctx, recs(5+i*7, fmt.Sprint(i))) // batches of growing size
		require.NoError(t, err)
	}
	want, err := p.Read(0, 1<<20)
	require.NoError(t, err)
	require.Len(t, want.Batches, 10)

	small := make([]byte, 0, 100) // smaller than the first batch
	got, buf, err := p.ReadInto(small, 0, 1<<20)
	require.NoError(t, err)
	requireSameBatches(t, want, got)
	require.Greater(t, cap(buf), cap(small))

	// Into the returned buffer: everything fits, so it is reused.
	base := unsafe.SliceData(buf)
	got, again, err := p.ReadInto(buf[:0], 0, 1<<20)
	require.NoError(t, err)
	requireSameBatches(t, want, got)
	require.Equal(t, base, unsafe.SliceData(again), "a buffer large enough is reused")

	// Reading from inside a batch, past the end, and with bad input gives
	// what Read gives.
	got, _, err = p.ReadInto(nil, 60, 1<<20)
	require.NoError(t, err)
	want, err = p.Read(60, 1<<20)
	require.NoError(t, err)
	requireSameBatches(t, want, got)
	_, _, err = p.ReadInto(nil, 1_000, 1<<20)
	var oe *OffsetError
	require.ErrorAs(t, err, &oe)
	_, _, err = p.ReadInto(nil, 0, -1)
	require.ErrorIs(t, err, ErrInvalidArgument)
}

// A read into a buffer that holds the batches allocates for none of them:
// at least one allocation fewer per batch than Read, which copies each
// batch into its own slice (6 against 16 for 10 batches when written).
func TestReadIntoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates (sync.Pool drops items at random); .ci/run runs this test again without -race")
	}
	p := newPartition(t, false)
	const batches = 10
	for i := range batches {
		_, err := p.Append(ctx, recs(5+i*7, fmt.Sprint(i)))
		require.NoError(t, err)
	}
	_, buf, err := p.ReadInto(nil, 0, 1<<20)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(10, func() {
		_, buf, err = p.ReadInto(buf[:0], 0, 1<<20)
	})
	require.NoError(t, err)
	read := testing.AllocsPerRun(10, func() { _, err = p.Read(0, 1<<20) })
	require.NoError(t, err)
	require.LessOrEqual(t, allocs, read-batches, "ReadInto %v allocations against Read's %v", allocs, read)
}

func requireSameBatches(t *testing.T, want, got Fetch) {
	t.Helper()
	require.Equal(t, want.LogStart, got.LogStart)
	require.Equal(t, want.HighWatermark, got.HighWatermark)
	require.Len(t, got.Batches, len(want.Batches))
	for i := range want.Batches {
		require.Equal(t, want.Batches[i].Bytes(), got.Batches[i].Bytes(), "batch %d", i)
	}
}

// AppendRecords keeps what dst held, drops the records below from, and
// matches Records.
func TestAppendRecords(t *testing.T) {
	p := newPartition(t, false)
	for i := range 3 {
		_, err := p.Append(ctx, recs(10, fmt.Sprint(i)))
		require.NoError(t, err)
	}
	f, err := p.Read(13, 1<<20) // from inside the second batch
	require.NoError(t, err)
	want, next, err := f.Records(13)
	require.NoError(t, err)
	require.Equal(t, int64(30), next)
	require.Len(t, want, 17)
	require.Equal(t, int64(13), want[0].Offset)

	dst := []log.Record{{Offset: -1}, {Offset: -2}}
	got, next, err := f.AppendRecords(dst, 13)
	require.NoError(t, err)
	require.Equal(t, int64(30), next)
	require.Len(t, got, 2+17)
	require.Equal(t, int64(-1), got[0].Offset)
	require.Equal(t, int64(-2), got[1].Offset)
	for i, r := range got[2:] {
		require.Equal(t, want[i].Offset, r.Offset)
		require.Equal(t, want[i].Value, r.Value)
	}
}
