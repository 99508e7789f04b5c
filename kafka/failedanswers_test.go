package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A produce with invalid acks answers base offset -1, as every failed
// partition does in Kafka; it answered 0.
func TestProduceInvalidAcksBaseOffset(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "keep", 1, nil))
	r := dialRaw(t, addr)
	preq := produceRequest("keep", 0, idemBatch(0, 0, 0, "v"))
	preq.Acks = 2
	presp := kmsg.NewPtrProduceResponse()
	presp.SetVersion(9)
	r.roundTrip(preq, presp, true)
	pp := presp.Topics[0].Partitions[0]
	require.Equal(t, kerr.InvalidRequiredAcks.Code, pp.ErrorCode)
	require.Equal(t, int64(-1), pp.BaseOffset)
}

// Kafka refuses an IncrementalAlterConfigs resource that names a key
// twice (ConfigAdminManager.preprocess: "Error due to duplicate config
// keys", INVALID_REQUEST) and changes nothing; Cairn applied the entries
// one after the other.
func TestIncrementalAlterDuplicateKeys(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	code := alterConfigs(r, "t", // would make t compacted
		configOp("cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, "compact"),
		configOp("cleanup.policy", kmsg.IncrementalAlterConfigOpSubtract, "delete"))
	require.Equal(t, kerr.InvalidRequest.Code, code)
	require.Equal(t, "delete", topicConfig(t, b, "t", "cleanup.policy"))
}
