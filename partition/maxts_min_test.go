package partition

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/stretchr/testify/require"
)

// A batch whose records' largest timestamp is math.MinInt64 (the value
// Normalize used to mean "not known") kept the later max timestamp its
// header claimed, and with it held off retention.ms.
func TestClientMaxTimestampAboveMinInt64Records(t *testing.T) {
	p := newPartition(t, false)
	at := time.UnixMilli(1_700_000_000_000)
	raw, err := log.Encode(nil, []log.Record{{Value: []byte("a"), Timestamp: at}}, log.None, nil, at)
	require.NoError(t, err)
	future := at.Add(100 * 365 * 24 * time.Hour).UnixMilli()
	minTS := int64(math.MinInt64)
	binary.BigEndian.PutUint64(raw[27:], uint64(minTS))  // first timestamp; the record's delta is 0
	binary.BigEndian.PutUint64(raw[35:], uint64(future)) // max timestamp
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	_, err = p.AppendBatch(ctx, raw)
	require.NoError(t, err)

	bs, err := p.Batches(0, 1, 1<<20)
	require.NoError(t, err)
	require.NotEqual(t, future, bs[0].MaxTimestamp().UnixMilli(), "the claimed max timestamp is not stored")
	got, err := p.BaseAtTime(at.Add(time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 1, got, "the batch is older than the retention horizon")
}
