package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Every failed partition answers -1, as Kafka, not only those that got as
// far as appending or deleting: a DeleteRecords up to the high watermark
// (-1) of an unknown partition answered low watermark 0, and a produce
// with invalid acks base offset 0.
func TestDeleteRecordsUnknownLowWatermark(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "keep", 1, nil))
	r := dialRaw(t, addr)

	req := kmsg.NewPtrDeleteRecordsRequest()
	req.SetVersion(2)
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "nope"
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrDeleteRecordsResponse()
	resp.SetVersion(2)
	r.roundTrip(req, resp, true)
	got := resp.Topics[0].Partitions[0]
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, got.ErrorCode)
	require.Equal(t, int64(-1), got.LowWatermark)
}

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
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.SetVersion(1)
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
	for i, v := range []string{"compact", "delete"} { // would make t compacted
		rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		rc.Name, rc.Op, rc.Value = "cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr(v)
		if i == 1 {
			rc.Op = kmsg.IncrementalAlterConfigOpSubtract
		}
		rr.Configs = append(rr.Configs, rc)
	}
	req.Resources = append(req.Resources, rr)
	resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	resp.SetVersion(1)
	r.roundTrip(req, resp, true)
	require.Equal(t, kerr.InvalidRequest.Code, resp.Resources[0].ErrorCode)
	info, err := b.DescribeTopic(ctx, "t")
	require.NoError(t, err)
	for _, e := range info.Config {
		if e.Key == "cleanup.policy" {
			require.Equal(t, "delete", e.Value)
		}
	}
}
