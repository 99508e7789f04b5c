package kafka_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A validate-only IncrementalAlterConfigs answers as the alter itself
// would: min.compaction.lag.ms above the topic's max.compaction.lag.ms is
// INVALID_CONFIG either way (Kafka validates the merged config for both).
func TestValidateOnlyAlterCompactionLagConflict(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, cairn.TopicConfig{"max.compaction.lag.ms": "5000"}))
	r := dialRaw(t, addr)
	alter := func(validateOnly bool) int16 {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.SetVersion(1)
		req.ValidateOnly = validateOnly
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
		rr.Configs = append(rr.Configs, configOp("min.compaction.lag.ms", kmsg.IncrementalAlterConfigOpSet, "10000"))
		req.Resources = append(req.Resources, rr)
		resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
		resp.SetVersion(1)
		r.roundTrip(req, resp, true)
		return resp.Resources[0].ErrorCode
	}
	require.Equal(t, kerr.InvalidConfig.Code, alter(false), "the alter itself")
	require.Equal(t, kerr.InvalidConfig.Code, alter(true), "validate-only said the alter would pass")
}
