package partition

import (
	"errors"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestOffsetForTimeRacesDeleteRecords: OffsetForTime read the time index,
// then scanned the batch it named with Read; retention or DeleteRecords
// moving the log start past that batch in between made OffsetForTime fail
// with ErrOffsetOutOfRange (an *OffsetError for an offset the caller never
// passed), although later records qualify. Kafka's ListOffsets by time
// never answers OFFSET_OUT_OF_RANGE. offsetForTimeHook deletes exactly
// there.
func TestOffsetForTimeRacesDeleteRecords(t *testing.T) {
	db := openDB(t, vfs.NewMem())
	defer db.Close()
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Config: Config{MaxMessageBytes: 1 << 20}})
	require.NoError(t, err)
	defer p.Close()
	for i := range 4 { // one record a batch, at 1000, 1001, 1002, 1003 ms
		_, err := p.Append(ctx, []log.Record{{Value: []byte("v"), Timestamp: time.UnixMilli(int64(1000 + i))}})
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		name   string
		at     int64 // the time asked for
		before int64 // DeleteRecords between the index seek and the scan
		want   int64
		ok     bool
	}{
		{"named batch deleted", 1001, 2, 2, true},
		{"every batch deleted", 1001, 4, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offsetForTimeHook = func() {
				offsetForTimeHook = nil
				require.NoError(t, p.DeleteRecords(ctx, tc.before))
			}
			defer func() { offsetForTimeHook = nil }()
			off, ok, err := p.OffsetForTime(time.UnixMilli(tc.at))
			require.NoError(t, err, "out of range: %v", errors.Is(err, ErrOffsetOutOfRange))
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, off)
		})
	}
}
