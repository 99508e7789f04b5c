package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// IncrementalAlterConfigs' APPEND and SUBTRACT work on list configs
// (cleanup.policy) as in Kafka, and are INVALID_CONFIG on others; both
// were refused with INVALID_REQUEST, so kadm's AlterTopicConfigs with an
// append or a subtract failed.
func TestIncrementalAlterListConfig(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	alter := func(ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) int16 {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.SetVersion(1)
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
		rr.Configs = ops
		req.Resources = append(req.Resources, rr)
		resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
		resp.SetVersion(1)
		r.roundTrip(req, resp, true)
		return resp.Resources[0].ErrorCode
	}
	op := func(name string, o kmsg.IncrementalAlterConfigOp, v string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		rc.Name, rc.Op, rc.Value = name, o, kmsg.StringPtr(v)
		return rc
	}
	policy := func() string {
		info, err := b.DescribeTopic(ctx, "t")
		require.NoError(t, err)
		for _, e := range info.Config {
			if e.Key == "cleanup.policy" {
				return e.Value
			}
		}
		return ""
	}

	require.Zero(t, alter(op("cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, "compact")))
	require.Equal(t, "delete,compact", policy())
	require.Zero(t, alter(op("cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, "compact")), "appending a value already there")
	require.Equal(t, "delete,compact", policy())
	require.Zero(t, alter(op("cleanup.policy", kmsg.IncrementalAlterConfigOpSubtract, "delete")))
	require.Equal(t, "compact", policy())
	// As Kafka, a key may appear once per resource.
	require.Equal(t, kerr.InvalidRequest.Code, alter(op("cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, "delete"),
		op("cleanup.policy", kmsg.IncrementalAlterConfigOpSubtract, "compact")))
	require.Equal(t, "compact", policy())
	require.Zero(t, alter(op("cleanup.policy", kmsg.IncrementalAlterConfigOpSet, "delete")))

	require.Equal(t, kerr.InvalidConfig.Code, alter(op("retention.ms", kmsg.IncrementalAlterConfigOpAppend, "5")), "not a list")
	require.Equal(t, "delete", policy(), "a refused request changes nothing")
}

// A DeleteRecords that fails answers low watermark -1, as Kafka; it
// answered the partition's current log start, as if the deletion had
// reached it.
func TestDeleteRecordsFailedLowWatermark(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.SetVersion(2)
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = 10 // past the high watermark, 0
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrDeleteRecordsResponse()
	resp.SetVersion(2)
	r.roundTrip(req, resp, true)
	got := resp.Topics[0].Partitions[0]
	require.Equal(t, kerr.OffsetOutOfRange.Code, got.ErrorCode)
	require.Equal(t, int64(-1), got.LowWatermark)
}
