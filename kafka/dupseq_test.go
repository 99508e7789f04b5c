package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// A retry of an idempotent batch older than the five Kafka remembers is
// answered OUT_OF_ORDER_SEQUENCE_NUMBER with base offset -1, as Kafka's
// ProducerAppendInfo.checkSequence does for any sequence that does not
// follow the last. DUPLICATE_SEQUENCE_NUMBER, which brokers no longer
// send, is taken by franz-go as success at the answer's base offset: the
// records were reported stored at offset 0.
func TestIdempotentOldRetryIsOutOfOrder(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "keep", 1, nil))
	r := dialRaw(t, addr)
	id, epoch, err := b.InitProducerID(ctx)
	require.NoError(t, err)
	for seq := range int32(7) {
		require.Zero(t, produce(t, r, idemBatch(id, epoch, seq, "v")).ErrorCode)
	}
	old := produce(t, r, idemBatch(id, epoch, 1, "v"))
	t.Logf("code %d (%v), base offset %d", old.ErrorCode, kerr.ErrorForCode(old.ErrorCode), old.BaseOffset)
	require.Equal(t, kerr.OutOfOrderSequenceNumber.Code, old.ErrorCode)
	require.Equal(t, int64(-1), old.BaseOffset)
}
