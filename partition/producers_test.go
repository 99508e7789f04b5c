package partition

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func idemBatch(t *testing.T, id int64, epoch int16, seq int32, n int) []byte {
	t.Helper()
	raw, err := log.Encode(nil, recs(n, "p"), log.None, &log.Producer{ID: id, Epoch: epoch, Sequence: seq}, time.Now())
	require.NoError(t, err)
	return raw
}

func TestIdempotentDedupe(t *testing.T) {
	p := newPartition(t, true)
	base, err := p.AppendBatch(ctx, idemBatch(t, 7, 0, 0, 3))
	require.NoError(t, err)
	require.Equal(t, int64(0), base)
	base, err = p.AppendBatch(ctx, idemBatch(t, 7, 0, 3, 2))
	require.NoError(t, err)
	require.Equal(t, int64(3), base)

	// A retry of either batch returns its offset and appends nothing.
	base, err = p.AppendBatch(ctx, idemBatch(t, 7, 0, 0, 3))
	require.NoError(t, err)
	require.Equal(t, int64(0), base)
	base, err = p.AppendBatch(ctx, idemBatch(t, 7, 0, 3, 2))
	require.NoError(t, err)
	require.Equal(t, int64(3), base)
	require.Equal(t, int64(5), p.HighWatermark())

	_, err = p.AppendBatch(ctx, idemBatch(t, 7, 0, 9, 1))
	require.ErrorIs(t, err, ErrOutOfOrderSequence, "a gap")
	_, err = p.AppendBatch(ctx, idemBatch(t, 7, 0, 1, 1))
	require.ErrorIs(t, err, ErrDuplicateSequence, "inside an earlier batch")
	_, err = p.AppendBatch(ctx, idemBatch(t, 8, 0, 4, 1))
	require.NoError(t, err, "a producer without state may start anywhere, as in Kafka")

	// A new epoch starts again at 0 and fences the old one.
	base, err = p.AppendBatch(ctx, idemBatch(t, 7, 1, 0, 1))
	require.NoError(t, err)
	require.Equal(t, int64(6), base)
	_, err = p.AppendBatch(ctx, idemBatch(t, 7, 0, 5, 1))
	require.ErrorIs(t, err, ErrProducerFenced)
	var pe *Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "t", pe.Topic)
	require.Equal(t, int64(7), p.HighWatermark(), "refused batches append nothing")
}

func TestIdempotenceSurvivesRestart(t *testing.T) {
	fs := vfs.NewMem()
	db := openDB(t, fs)
	p := open(t, db, true)
	for seq := int32(0); seq < 30; seq += 3 {
		_, err := p.AppendBatch(ctx, idemBatch(t, 42, 3, seq, 3))
		require.NoError(t, err)
	}
	require.NoError(t, p.Close())
	require.NoError(t, db.Close())

	db = openDB(t, fs)
	defer db.Close()
	p = open(t, db, true)
	// The ack of the last batch was lost in the crash: the retry is a dup.
	base, err := p.AppendBatch(ctx, idemBatch(t, 42, 3, 27, 3))
	require.NoError(t, err)
	require.Equal(t, int64(27), base)
	require.Equal(t, int64(30), p.HighWatermark())
	base, err = p.AppendBatch(ctx, idemBatch(t, 42, 3, 30, 1))
	require.NoError(t, err)
	require.Equal(t, int64(30), base)
}

// The last maxCachedBatches batches are remembered, in memory and across a
// restart; an older one's retry is refused as a duplicate.
func TestIdempotenceWindow(t *testing.T) {
	fs := vfs.NewMem()
	db := openDB(t, fs)
	p := open(t, db, true)
	const batches = maxCachedBatches + 2
	for i := range int32(batches) {
		_, err := p.AppendBatch(ctx, idemBatch(t, 9, 0, 2*i, 2))
		require.NoError(t, err)
	}
	check := func(p *Partition) {
		t.Helper()
		for i := range int32(batches) {
			base, err := p.AppendBatch(ctx, idemBatch(t, 9, 0, 2*i, 2))
			if i < batches-maxCachedBatches {
				require.ErrorIs(t, err, ErrDuplicateSequence, "batch %d is out of the window", i)
				continue
			}
			require.NoError(t, err, "batch %d", i)
			require.Equal(t, int64(2*i), base, "batch %d", i)
		}
		require.Equal(t, int64(2*batches), p.HighWatermark())
	}
	check(p)
	require.NoError(t, p.Close())
	require.NoError(t, db.Close())
	db = openDB(t, fs)
	defer db.Close()
	p = open(t, db, true)
	defer p.Close()
	check(p)
}

func TestProducerStateExpires(t *testing.T) {
	fs := vfs.NewMem()
	db := openDB(t, fs)
	defer db.Close()
	now := time.Now()
	clock := func() time.Time { return now }
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Now: clock, Config: Config{MaxMessageBytes: 1 << 20}})
	require.NoError(t, err)
	_, err = p.AppendBatch(ctx, idemBatch(t, 5, 0, 0, 1))
	require.NoError(t, err)
	require.NoError(t, p.Close())
	now = now.Add(DefaultProducerExpiry + time.Minute)
	p, err = Open(Options{DB: db, Topic: "t", TopicID: 1, Now: clock, Config: Config{MaxMessageBytes: 1 << 20}})
	require.NoError(t, err)
	defer p.Close()
	require.Empty(t, p.mu.producers)
}

func TestSeqAddWraps(t *testing.T) {
	require.Equal(t, int32(0), seqAdd(1<<31-1, 1))
	require.Equal(t, int32(4), seqAdd(1<<31-2, 6))
}

func TestOffsetForTime(t *testing.T) {
	p := newPartition(t, false)
	at := func(ms ...int64) []log.Record {
		out := make([]log.Record, len(ms))
		for i, m := range ms {
			out[i] = log.Record{Value: []byte("v"), Timestamp: time.UnixMilli(m)}
		}
		return out
	}
	// Offsets: 0..2 -> 100,300,200; 3..4 -> 250,260; 5..6 -> 500,400; 7 -> 50
	for _, b := range [][]log.Record{at(100, 300, 200), at(250, 260), at(500, 400), at(50)} {
		_, err := p.Append(ctx, b)
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		ms   int64
		want int64
		ok   bool
	}{
		{0, 0, true}, {100, 0, true}, {101, 1, true}, {300, 1, true},
		{301, 5, true}, {450, 5, true}, {500, 5, true}, {501, 8, false},
	} {
		off, ok, err := p.OffsetForTime(time.UnixMilli(tc.ms))
		require.NoError(t, err)
		require.Equal(t, tc.ok, ok, "t=%d", tc.ms)
		require.Equal(t, tc.want, off, "t=%d", tc.ms)
	}
	// After deleting the batch the index points at, the lookup scans on
	// from the log start.
	require.NoError(t, p.DeleteRecords(ctx, 3))
	off, ok, err := p.OffsetForTime(time.UnixMilli(101))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(3), off)
	require.NoError(t, p.DeleteRecords(ctx, 7))
	off, ok, err = p.OffsetForTime(time.UnixMilli(101))
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, int64(8), off)
}
