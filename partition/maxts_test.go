package partition

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/stretchr/testify/require"
)

// TestClientMaxTimestampAboveRecords: Kafka's LogValidator sets a
// CreateTime batch's max timestamp to its records' largest, whatever the
// producer wrote there. A header claiming a later time must not keep the
// batch (and every batch after it) from retention.ms.
func TestClientMaxTimestampAboveRecords(t *testing.T) {
	p := newPartition(t, false)
	at := time.UnixMilli(1_700_000_000_000)
	in := []log.Record{{Value: []byte("a"), Timestamp: at}, {Value: []byte("b"), Timestamp: at.Add(time.Second)}}
	raw, err := log.Encode(nil, in, log.None, nil, at)
	require.NoError(t, err)
	future := at.Add(100 * 365 * 24 * time.Hour).UnixMilli()
	binary.BigEndian.PutUint64(raw[35:], uint64(future)) // max timestamp
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	_, err = p.AppendBatch(ctx, raw)
	require.NoError(t, err, "Kafka accepts the batch")
	_, err = p.Append(ctx, []log.Record{{Value: []byte("c"), Timestamp: at.Add(2 * time.Second)}})
	require.NoError(t, err)

	bs, err := p.Batches(0, 3, 1<<20)
	require.NoError(t, err)
	require.Equal(t, at.Add(time.Second).UnixMilli(), bs[0].MaxTimestamp().UnixMilli(),
		"stored max timestamp is the records' largest, as Kafka rewrites it")
	// retention.ms of an hour, an hour after the records: both batches go.
	got, err := p.BaseAtTime(at.Add(time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 3, got, "every batch is older than the retention horizon")
}
