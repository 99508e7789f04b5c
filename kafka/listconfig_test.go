package kafka_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// configOp is one IncrementalAlterConfigs entry.
func configOp(name string, op kmsg.IncrementalAlterConfigOp, v string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
	rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	rc.Name, rc.Op, rc.Value = name, op, kmsg.StringPtr(v)
	return rc
}

// alterConfigs sends one IncrementalAlterConfigs of topic's ops and
// returns the resource's error code.
func alterConfigs(r *rawConn, topic string, ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) int16 {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.SetVersion(1)
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	rr.Configs = ops
	req.Resources = append(req.Resources, rr)
	resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	resp.SetVersion(1)
	r.roundTrip(req, resp, true)
	return resp.Resources[0].ErrorCode
}

// topicConfig returns topic's effective value of key.
func topicConfig(t *testing.T, b *cairn.Broker, topic, key string) string {
	t.Helper()
	info, err := b.DescribeTopic(ctx, topic)
	require.NoError(t, err)
	for _, e := range info.Config {
		if e.Key == key {
			return e.Value
		}
	}
	return ""
}

// deleteRecords sends a DeleteRecords of topic's partition 0 before
// offset and returns the partition's answer.
func deleteRecords(r *rawConn, topic string, offset int64) kmsg.DeleteRecordsResponseTopicPartition {
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.SetVersion(2)
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrDeleteRecordsResponse()
	resp.SetVersion(2)
	r.roundTrip(req, resp, true)
	return resp.Topics[0].Partitions[0]
}

// IncrementalAlterConfigs' APPEND and SUBTRACT work on list configs
// (cleanup.policy) as in Kafka, and are INVALID_CONFIG on others; both
// were refused with INVALID_REQUEST, so kadm's AlterTopicConfigs with an
// append or a subtract failed.
func TestIncrementalAlterListConfig(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	const (
		appendOp   = kmsg.IncrementalAlterConfigOpAppend
		subtractOp = kmsg.IncrementalAlterConfigOpSubtract
	)
	policy := func() string { return topicConfig(t, b, "t", "cleanup.policy") }

	require.Zero(t, alterConfigs(r, "t", configOp("cleanup.policy", appendOp, "compact")))
	require.Equal(t, "delete,compact", policy())
	require.Zero(t, alterConfigs(r, "t", configOp("cleanup.policy", appendOp, "compact")), "appending a value already there")
	require.Equal(t, "delete,compact", policy())
	require.Zero(t, alterConfigs(r, "t", configOp("cleanup.policy", subtractOp, "delete")))
	require.Equal(t, "compact", policy())
	// As Kafka, a key may appear once per resource.
	require.Equal(t, kerr.InvalidRequest.Code, alterConfigs(r, "t", configOp("cleanup.policy", appendOp, "delete"),
		configOp("cleanup.policy", subtractOp, "compact")))
	require.Equal(t, "compact", policy())
	require.Zero(t, alterConfigs(r, "t", configOp("cleanup.policy", kmsg.IncrementalAlterConfigOpSet, "delete")))

	require.Equal(t, kerr.InvalidConfig.Code, alterConfigs(r, "t", configOp("retention.ms", appendOp, "5")), "not a list")
	require.Equal(t, "delete", policy(), "a refused request changes nothing")
}

// A DeleteRecords that fails answers low watermark -1, as Kafka; it
// answered the partition's current log start, as if the deletion had
// reached it. Also when the partition is unknown and the offset is -1
// (up to the high watermark), which failed on another path.
func TestDeleteRecordsFailedLowWatermark(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	got := deleteRecords(r, "t", 10) // past the high watermark, 0
	require.Equal(t, kerr.OffsetOutOfRange.Code, got.ErrorCode)
	require.Equal(t, int64(-1), got.LowWatermark)
	got = deleteRecords(r, "nope", -1)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, got.ErrorCode)
	require.Equal(t, int64(-1), got.LowWatermark)
}
