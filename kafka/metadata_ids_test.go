package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata v12 may name topics by id alone (the Java admin's
// describeTopics by id does): Kafka answers a known id with its topic and
// an unknown one with UNKNOWN_TOPIC_ID (KafkaApis.handleTopicMetadataRequest).
// Entries without a name were dropped, so the answer had no topics.
func TestMetadataByTopicID(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "byid", 2, nil))
	r := dialRaw(t, addr)
	byName := kmsg.NewPtrMetadataRequest()
	byName.SetVersion(12)
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("byid")
	byName.Topics = append(byName.Topics, mt)
	resp := kmsg.NewPtrMetadataResponse()
	resp.SetVersion(12)
	r.roundTrip(byName, resp, true)
	require.Len(t, resp.Topics, 1)
	id := resp.Topics[0].TopicID

	byID := kmsg.NewPtrMetadataRequest()
	byID.SetVersion(12)
	for _, u := range [][16]byte{id, {1, 2, 3}} {
		mt := kmsg.NewMetadataRequestTopic()
		mt.TopicID = u
		byID.Topics = append(byID.Topics, mt)
	}
	resp = kmsg.NewPtrMetadataResponse()
	resp.SetVersion(12)
	r.roundTrip(byID, resp, true)
	require.Len(t, resp.Topics, 2, "one answer per id")
	known, unknown := resp.Topics[0], resp.Topics[1]
	require.Zero(t, known.ErrorCode)
	require.Equal(t, "byid", *known.Topic)
	require.Equal(t, id, known.TopicID)
	require.Len(t, known.Partitions, 2)
	require.Equal(t, kerr.UnknownTopicID.Code, unknown.ErrorCode)
	require.Equal(t, [16]byte{1, 2, 3}, unknown.TopicID)
}
