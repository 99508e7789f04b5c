package partition

import (
	"math"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// Open with no DB is refused, not a nil pointer dereference.
func TestOpenNilDBBadInput(t *testing.T) {
	p, err := Open(Options{Topic: "t"})
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Nil(t, p)

	db := openDB(t, vfs.NewMem())
	defer db.Close()
	p, err = Open(Options{DB: db, Topic: "t", Partition: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Nil(t, p)
}

// Changed after Close returns a channel that is closed, as the doc says
// ("closed the next time the high watermark moves (or the partition
// closes)"): it returned a fresh channel nothing would ever close, so a
// reader that took it from a handle of a deleted topic waited for good.
func TestChangedAfterCloseBadInput(t *testing.T) {
	p := newPartition(t, false)
	before := p.Changed()
	require.NoError(t, p.Close())
	for _, ch := range []<-chan struct{}{before, p.Changed()} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("Changed after Close is never closed")
		}
	}
	// A later broadcast (a second Close) neither panics nor reopens it.
	require.NoError(t, p.Close())
	select {
	case <-p.Changed():
	default:
		t.Fatal("Changed open again after a second Close")
	}
}

// ApplyClean validates its step: a nil one panicked, and a step whose
// replacement is not a batch ending at its key's offset, or that names a
// batch past the log end, or moves the checkpoint outside the log, was
// applied, corrupting the log (every later read of it failed) or the
// cleaner's checkpoint for good. A refused step changes nothing.
func TestApplyCleanBadInput(t *testing.T) {
	p := newPartition(t, false)
	for i := 0; i < 3; i++ {
		_, err := p.Append(ctx, recs(2, "a"))
		require.NoError(t, err)
	}
	before := p.Stats()
	other, err := log.Encode(nil, recs(1, "x"), log.None, nil, time.Now()) // ends at 0
	require.NoError(t, err)

	require.ErrorIs(t, p.ApplyClean(ctx, nil), ErrInvalidArgument)
	for name, rw := range map[string]*log.Rewrite{
		"garbage batch":          {Batches: []log.Replace{{Last: 1, Batch: []byte("garbage")}}},
		"batch ending elsewhere": {Batches: []log.Replace{{Last: 3, Batch: other}}},
		"past the log end":       {Batches: []log.Replace{{Last: 1000, Batch: nil}}},
		"negative last":          {Batches: []log.Replace{{Last: -1, Batch: nil}}},
		"checkpoint past end":    {Done: true, CleanedTo: 1 << 40},
		"negative checkpoint":    {Done: true, CleanedTo: -5},
		"negative records":       {Records: -100},
	} {
		require.ErrorIs(t, p.ApplyClean(ctx, rw), ErrInvalidArgument, name)
	}
	after := p.Stats()
	require.Equal(t, before, after)
	got, err := p.ReadRecords(0, math.MaxInt32)
	require.NoError(t, err)
	require.Len(t, got, 6)
}

// A time past what int64 milliseconds hold is later than every record:
// UnixMilli wrapped, and the lookups answered the log's first record.
func TestFarFutureTimeBadInput(t *testing.T) {
	p := newPartition(t, false)
	for i := 0; i < 3; i++ {
		_, err := p.Append(ctx, recs(2, "a"))
		require.NoError(t, err)
	}
	far := time.Unix(1<<62, 0)
	off, ok, err := p.OffsetForTime(far)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, p.HighWatermark(), off)
	base, err := p.BaseAtTime(far)
	require.NoError(t, err)
	require.Equal(t, p.HighWatermark(), base)

	off, ok, err = p.OffsetForTime(time.Unix(-1<<62, 0))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(0), off)
}
