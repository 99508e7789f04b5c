package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka answers Metadata for a topic whose name is not valid with
// INVALID_TOPIC_EXCEPTION, which clients do not retry, whether or not it
// would auto-create (KafkaApis.getTopicMetadata validates the names of
// topics it does not have); the listener answered the retriable
// UNKNOWN_TOPIC_OR_PARTITION when auto-creation was off.
func TestMetadataInvalidTopicName(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(9)
	for _, name := range []string{"bad name!", "ok-but-missing"} {
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, mt)
	}
	resp := kmsg.NewPtrMetadataResponse()
	resp.SetVersion(9)
	r.roundTrip(req, resp, true)
	require.Len(t, resp.Topics, 2)
	t.Logf("codes %d, %d", resp.Topics[0].ErrorCode, resp.Topics[1].ErrorCode)
	require.Equal(t, kerr.InvalidTopicException.Code, resp.Topics[0].ErrorCode)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, resp.Topics[1].ErrorCode)
}
