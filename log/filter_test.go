package log

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFilterKeepsOffsetsAndTimes(t *testing.T) {
	for c := None; c <= Zstd; c++ {
		t.Run(c.String(), func(t *testing.T) {
			in := sampleRecords(20)
			raw, err := Encode(nil, in, c, &Producer{ID: 3, Epoch: 1, Sequence: 9}, time.Now())
			require.NoError(t, err)
			b, err := Parse(raw)
			require.NoError(t, err)
			b.SetBaseOffset(100)
			all, err := b.Records(nil)
			require.NoError(t, err)

			out, kept, err := b.Filter(func(r *Record) bool { return r.Offset%3 == 1 })
			require.NoError(t, err)
			require.Equal(t, 7, kept) // 100, 103, ..., 118
			f, err := Parse(out)
			require.NoError(t, err)
			require.Equal(t, int64(100), f.BaseOffset())
			require.Equal(t, int64(119), f.LastOffset(), "the offset range is kept")
			require.Equal(t, all[18].Timestamp, f.MaxTimestamp(), "the largest kept record's")
			require.Equal(t, b.Producer(), f.Producer())
			require.Equal(t, c, f.Codec())
			got, err := f.Records(nil)
			require.NoError(t, err)
			var want []Record
			for _, r := range all {
				if r.Offset%3 == 1 {
					want = append(want, r)
				}
			}
			require.Equal(t, want, got)
			require.ErrorIs(t, f.Validate(), ErrCorruptBatch, "a producer may not send gaps")

			// Filtering again composes.
			out2, kept2, err := f.Filter(func(r *Record) bool { return r.Offset > 110 })
			require.NoError(t, err)
			require.Equal(t, 3, kept2)
			f2, err := Parse(out2)
			require.NoError(t, err)
			got2, err := f2.Records(nil)
			require.NoError(t, err)
			require.Equal(t, want[4:], got2)
		})
	}
}

func TestFilterAllOrNothing(t *testing.T) {
	raw, err := Encode(nil, sampleRecords(5), Zstd, nil, time.Now())
	require.NoError(t, err)
	b, err := Parse(raw)
	require.NoError(t, err)
	out, kept, err := b.Filter(func(*Record) bool { return true })
	require.NoError(t, err)
	require.Equal(t, 5, kept)
	require.Equal(t, raw, out)
	out, kept, err = b.Filter(func(*Record) bool { return false })
	require.NoError(t, err)
	require.Zero(t, kept)
	require.Nil(t, out)
}

func TestValidateRejectsGapsRecordsAcceptsThem(t *testing.T) {
	raw, err := Encode(nil, sampleRecords(4), None, nil, time.Now())
	require.NoError(t, err)
	b, err := Parse(raw)
	require.NoError(t, err)
	out, _, err := b.Filter(func(r *Record) bool { return r.Offset != 2 })
	require.NoError(t, err)
	f, err := Parse(out)
	require.NoError(t, err)
	recs, err := f.Records(nil)
	require.NoError(t, err)
	require.Equal(t, []int64{0, 1, 3}, []int64{recs[0].Offset, recs[1].Offset, recs[2].Offset})
	_, err = f.ValidRecords(nil)
	require.ErrorIs(t, err, ErrCorruptBatch)
}

// A cleaned CreateTime batch's max timestamp is its kept records'
// largest, as Kafka rebuilds a cleaned batch from its retained records:
// kept, a removed record's newer stamp held the batch (and every batch
// after it) from retention.ms. A LogAppendTime batch keeps its append
// time, which stands for every record's.
func TestFilterMaxTimestampOfKeptRecords(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_000)
	in := []Record{
		{Key: []byte("a"), Value: []byte("1"), Timestamp: base.Add(-time.Hour)},
		{Key: []byte("b"), Value: []byte("1"), Timestamp: base},
		{Key: []byte("c"), Value: []byte("1"), Timestamp: base.Add(-2 * time.Hour)},
	}
	raw, err := Encode(nil, in, Snappy, nil, time.Now())
	require.NoError(t, err)
	b, err := Parse(raw)
	require.NoError(t, err)
	require.Equal(t, base.UnixMilli(), b.MaxTimestamp().UnixMilli())
	dropB := func(r *Record) bool { return string(r.Key) != "b" }
	out, kept, err := b.Filter(dropB)
	require.NoError(t, err)
	require.Equal(t, 2, kept)
	f, err := Parse(out)
	require.NoError(t, err)
	require.Equal(t, base.Add(-time.Hour).UnixMilli(), f.MaxTimestamp().UnixMilli())
	got, err := f.Records(nil)
	require.NoError(t, err)
	require.Equal(t, in[0].Timestamp.UnixMilli(), got[0].Timestamp.UnixMilli())
	require.Equal(t, in[2].Timestamp.UnixMilli(), got[1].Timestamp.UnixMilli())

	appended := time.UnixMilli(1_800_000_000_000)
	b.SetLogAppendTime(appended)
	out, _, err = b.Filter(dropB)
	require.NoError(t, err)
	f, err = Parse(out)
	require.NoError(t, err)
	require.True(t, f.LogAppendTime())
	require.Equal(t, appended.UnixMilli(), f.MaxTimestamp().UnixMilli())
}
