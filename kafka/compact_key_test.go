package kafka_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka refuses a record without a key on a compacted topic with
// INVALID_RECORD (LogValidator.validateKey), which clients do not retry;
// the listener answered UNKNOWN_SERVER_ERROR.
func TestProduceCompactedWithoutKey(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "table", 1, cairn.TopicConfig{"cleanup.policy": "compact"}))
	r := dialRaw(t, addr)
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(9)
	r.roundTrip(produceRequest("table", 0, batch("no key")), resp, true)
	got := resp.Topics[0].Partitions[0].ErrorCode
	t.Logf("code %d (%v)", got, kerr.ErrorForCode(got))
	require.Equal(t, kerr.InvalidRecord.Code, got)
}
