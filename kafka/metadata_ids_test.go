package kafka_test

import (
	"testing"

	"github.com/cairnlog/cairn/kafka"
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

// Kafka reads a Metadata request's topics as a set: a topic named twice
// (by name or by id) is answered once. Cairn answered it as often as it
// was named.
func TestMetadataDuplicateTopicsAnsweredOnce(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "dup", 1, nil))
	r := dialRaw(t, addr)
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	for _, name := range []string{"dup", "dup", "missing", "missing"} {
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, mt)
	}
	resp := kmsg.NewPtrMetadataResponse()
	resp.SetVersion(12)
	r.roundTrip(req, resp, true)
	require.Len(t, resp.Topics, 2)
	require.Equal(t, "dup", *resp.Topics[0].Topic)
	require.Zero(t, resp.Topics[0].ErrorCode)
	require.Equal(t, "missing", *resp.Topics[1].Topic)
	id := resp.Topics[0].TopicID

	byID := kmsg.NewPtrMetadataRequest()
	byID.SetVersion(12)
	for range 2 {
		mt := kmsg.NewMetadataRequestTopic()
		mt.TopicID = id
		byID.Topics = append(byID.Topics, mt)
	}
	resp = kmsg.NewPtrMetadataResponse()
	resp.SetVersion(12)
	r.roundTrip(byID, resp, true)
	require.Len(t, resp.Topics, 1)
	require.Equal(t, id, resp.Topics[0].TopicID)
}

// kafka.TopicID reads back the Cairn topic id a listener's Kafka topic id
// stands for, and refuses an id no Cairn listener gives.
func TestTopicIDFromKafkaID(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "ids", 1, nil))
	r := dialRaw(t, addr)
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("ids")
	req.Topics = append(req.Topics, mt)
	resp := kmsg.NewPtrMetadataResponse()
	resp.SetVersion(12)
	r.roundTrip(req, resp, true)
	got, ok := kafka.TopicID(resp.Topics[0].TopicID)
	require.True(t, ok)
	want, err := b.TopicID("ids")
	require.NoError(t, err)
	require.Equal(t, want, got)
	_, ok = kafka.TopicID([16]byte{1, 2, 3})
	require.False(t, ok)
}
