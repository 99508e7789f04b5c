package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A resource named twice in one AlterConfigs or IncrementalAlterConfigs is
// INVALID_REQUEST for both, and neither is applied, as Kafka's
// ConfigAdminManager.preprocess; both were applied, the last one winning.
func TestAlterConfigsDuplicateResource(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)

	ireq := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ireq.SetVersion(1)
	for _, v := range []string{"1234", "5678"} {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
		rr.Configs = append(rr.Configs, configOp("retention.ms", kmsg.IncrementalAlterConfigOpSet, v))
		ireq.Resources = append(ireq.Resources, rr)
	}
	iresp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	iresp.SetVersion(1)
	r.roundTrip(ireq, iresp, true)
	require.Len(t, iresp.Resources, 2)
	for _, rr := range iresp.Resources {
		require.Equal(t, kerr.InvalidRequest.Code, rr.ErrorCode)
		require.Equal(t, "t", rr.ResourceName)
	}
	require.Equal(t, "604800000", topicConfig(t, b, "t", "retention.ms"))

	req := kmsg.NewPtrAlterConfigsRequest()
	req.SetVersion(1)
	for _, v := range []string{"1234", "5678"} {
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = "retention.ms", kmsg.StringPtr(v)
		rr.Configs = append(rr.Configs, c)
		req.Resources = append(req.Resources, rr)
	}
	resp := kmsg.NewPtrAlterConfigsResponse()
	resp.SetVersion(1)
	r.roundTrip(req, resp, false)
	require.Len(t, resp.Resources, 2)
	for _, rr := range resp.Resources {
		require.Equal(t, kerr.InvalidRequest.Code, rr.ErrorCode)
	}
	require.Equal(t, "604800000", topicConfig(t, b, "t", "retention.ms"))
}

// The legacy AlterConfigs refuses a key named twice and a null value with
// INVALID_REQUEST, as Kafka's ConfigAdminManager.preprocess; the last of
// a repeated key was applied, and a null value reset the key.
func TestAlterConfigsDuplicateKeyAndNull(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, map[string]string{"retention.ms": "1000"}))
	r := dialRaw(t, addr)
	alter := func(kvs ...*string) int16 {
		req := kmsg.NewPtrAlterConfigsRequest()
		req.SetVersion(1)
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
		for i := 0; i < len(kvs); i += 2 {
			c := kmsg.NewAlterConfigsRequestResourceConfig()
			c.Name, c.Value = *kvs[i], kvs[i+1]
			rr.Configs = append(rr.Configs, c)
		}
		req.Resources = append(req.Resources, rr)
		resp := kmsg.NewPtrAlterConfigsResponse()
		resp.SetVersion(1)
		r.roundTrip(req, resp, false)
		return resp.Resources[0].ErrorCode
	}
	s := kmsg.StringPtr
	require.Equal(t, kerr.InvalidRequest.Code, alter(s("retention.ms"), s("2000"), s("retention.ms"), s("3000")))
	require.Equal(t, "1000", topicConfig(t, b, "t", "retention.ms"))
	require.Equal(t, kerr.InvalidRequest.Code, alter(s("retention.ms"), nil))
	require.Equal(t, "1000", topicConfig(t, b, "t", "retention.ms"))
}

// DescribeConfigs with an empty, not null, list of config names answers
// every config, as Kafka's ConfigHelper.describeConfigs
// (configurationKeys == null || isEmpty); it answered none.
func TestDescribeConfigsEmptyNames(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	for _, v := range []int16{1, 4} {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.SetVersion(v)
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
		rr.ConfigNames = []string{}
		req.Resources = append(req.Resources, rr)
		resp := kmsg.NewPtrDescribeConfigsResponse()
		resp.SetVersion(v)
		r.roundTrip(req, resp, req.IsFlexible())
		require.Zero(t, resp.Resources[0].ErrorCode)
		require.NotEmpty(t, resp.Resources[0].Configs, "v%d", v)
	}
}

// CreateTopics with a null config value is INVALID_CONFIG and creates
// nothing, as Kafka ("Null value not supported for topic configs"); the
// config was dropped and the topic created with the default.
func TestCreateTopicsNullConfig(t *testing.T) {
	b, addr := serve(t, nil)
	r := dialRaw(t, addr)
	for _, validateOnly := range []bool{true, false} {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.SetVersion(4)
		req.ValidateOnly = validateOnly
		ct := kmsg.NewCreateTopicsRequestTopic()
		ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "t", 1, 1
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name = "retention.ms"
		ct.Configs = append(ct.Configs, c)
		req.Topics = append(req.Topics, ct)
		resp := kmsg.NewPtrCreateTopicsResponse()
		resp.SetVersion(4)
		r.roundTrip(req, resp, false)
		require.Equal(t, kerr.InvalidConfig.Code, resp.Topics[0].ErrorCode, "validateOnly %v", validateOnly)
	}
	names, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Empty(t, names)
}
