package kafka_test

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka refuses a client's control batch (and a transactional batch
// without a producer id) with INVALID_RECORD, which clients do not retry.
// CORRUPT_MESSAGE is retriable: a client retries the batch until its
// delivery timeout instead of failing it at once.
func TestControlBatchFromClientIsInvalidRecord(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	raw := batch("x")
	raw[22] |= 0x20 // attributes: control
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(9)
	r.roundTrip(produceRequest("t", 0, raw), resp, true)
	code := resp.Topics[0].Partitions[0].ErrorCode
	require.Equal(t, kerr.InvalidRecord.Code, code, "got %v", kerr.ErrorForCode(code))
	require.False(t, kerr.IsRetriable(kerr.ErrorForCode(code)))
}
