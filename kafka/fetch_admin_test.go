package kafka_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A long poll over more than 65533 partitions (the same partition listed
// again and again, or a topic of up to topic.MaxPartitions = 65536) made
// waitAny call reflect.Select with more than 65536 cases, which panics:
// one request from any client crashed the whole process.
func TestFetchLongPollManyPartitions(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "many", 1, nil))
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(11)
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 3000, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "many"
	for range 70000 {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes = 0, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	r := dialRaw(t, addr)
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	r.roundTrip(req, resp, false)
	require.Len(t, resp.Topics[0].Partitions, 70000)
}

// validateOnly must answer what the real request would: Kafka's
// --validate-only runs the same checks. Each case here was accepted with
// validateOnly and refused for real.
func TestValidateOnlyMatchesRealRequest(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "with.dot", 1, nil))
	require.NoError(t, b.CreateTopic(ctx, "full", 1, nil))
	_, err := b.Append(ctx, "full", 0, cairn.Record{Value: []byte("v")})
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic(ctx, "table", 1, cairn.TopicConfig{"cleanup.policy": "compact"}))
	_, err = b.Append(ctx, "table", 0, cairn.Record{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	r := dialRaw(t, addr)

	// codes sends the request send builds, validate-only and for real,
	// and returns the error code of each.
	codes := func(t *testing.T, send func(validate bool) int16) (validated, real int16) {
		validated, real = send(true), send(false)
		t.Logf("validateOnly: %v, real: %v", kerr.ErrorForCode(validated), kerr.ErrorForCode(real))
		return validated, real
	}
	createPartitions := func(topic string, count int32) func(bool) int16 {
		return func(validate bool) int16 {
			req := kmsg.NewPtrCreatePartitionsRequest()
			req.SetVersion(3)
			req.ValidateOnly = validate
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = topic, count
			req.Topics = append(req.Topics, rt)
			resp := kmsg.NewPtrCreatePartitionsResponse()
			resp.SetVersion(3)
			r.roundTrip(req, resp, true)
			return resp.Topics[0].ErrorCode
		}
	}

	t.Run("CreateTopics colliding name", func(t *testing.T) {
		validated, real := codes(t, func(validate bool) int16 {
			req := kmsg.NewPtrCreateTopicsRequest()
			req.SetVersion(7)
			req.ValidateOnly = validate
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "with_dot", 1, 1
			req.Topics = append(req.Topics, rt)
			resp := kmsg.NewPtrCreateTopicsResponse()
			resp.SetVersion(7)
			r.roundTrip(req, resp, true)
			return resp.Topics[0].ErrorCode
		})
		require.Equal(t, real, validated)
	})

	t.Run("CreatePartitions above the maximum", func(t *testing.T) {
		validated, real := codes(t, createPartitions("with.dot", 1<<20))
		require.Equal(t, real, validated)
	})

	t.Run("CreatePartitions of a compacted topic with records", func(t *testing.T) {
		validated, real := codes(t, createPartitions("table", 2))
		require.Equal(t, kerr.InvalidPartitions.Code, real)
		require.Equal(t, real, validated)
	})

	t.Run("IncrementalAlterConfigs compaction of a topic with records", func(t *testing.T) {
		validated, real := codes(t, func(validate bool) int16 {
			req := kmsg.NewPtrIncrementalAlterConfigsRequest()
			req.SetVersion(1)
			req.ValidateOnly = validate
			rr := kmsg.NewIncrementalAlterConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "full"
			rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			rc.Name, rc.Op, rc.Value = "cleanup.policy", kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("compact")
			rr.Configs = append(rr.Configs, rc)
			req.Resources = append(req.Resources, rr)
			resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
			resp.SetVersion(1)
			r.roundTrip(req, resp, true)
			return resp.Resources[0].ErrorCode
		})
		require.Equal(t, real, validated)
	})
}

// Kafka reports OFFSET_OUT_OF_RANGE for a partition whatever bytes are
// left of the request's MaxBytes; a partition left out by the limit was
// answered with no error, so the client does not learn (and reset) until
// the partitions before it stop filling the answer.
func TestFetchOutOfRangeAfterMaxBytes(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "oor", 2, nil))
	_, err := b.Append(ctx, "oor", 0, cairn.Record{Value: make([]byte, 2000)})
	require.NoError(t, err)
	req := fetchReq("oor", 2, 0, 1000, 1<<20, 0, 0)
	req.Topics[0].Partitions[1].FetchOffset = 50 // the partition is empty
	r := dialRaw(t, addr)
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	r.roundTrip(req, resp, false)
	p1 := resp.Topics[0].Partitions[1]
	t.Logf("partition 0: %d bytes; partition 1 at offset 50 of an empty log: %v", len(resp.Topics[0].Partitions[0].RecordBatches), kerr.ErrorForCode(p1.ErrorCode))
	require.Equal(t, kerr.OffsetOutOfRange.Code, p1.ErrorCode)
}

// The same through a topic of topic.MaxPartitions partitions, each named
// once, as a consumer of the whole topic asks: 65536+3 cases. An append
// to one of the last partitions ends the wait.
func TestFetchLongPollWidestTopic(t *testing.T) {
	b, addr := serve(t, nil)
	const n = 1 << 16 // topic.MaxPartitions
	require.NoError(t, b.CreateTopic(ctx, "wide", n, nil))
	req := fetchReq("wide", n, 0, 1<<20, 1<<10, 1, 60000)
	r := dialRaw(t, addr)
	go func() {
		time.Sleep(3 * time.Second)
		_, err := b.Append(ctx, "wide", n-10, cairn.Record{Value: []byte("wake")})
		assert.NoError(t, err)
	}()
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	start := time.Now()
	r.roundTrip(req, resp, false)
	t.Logf("answered after %v", time.Since(start))
	require.Len(t, resp.Topics[0].Partitions, n)
	require.NotEmpty(t, resp.Topics[0].Partitions[n-10].RecordBatches)
}

// Kafka answers a validateOnly CreateTopics with the partition count and
// replication factor the topic would get; kadm's ValidateCreateTopics
// showed -1 and -1.
func TestCreateTopicsValidateOnlyAnswersCounts(t *testing.T) {
	b, addr := serve(t, nil)
	adm := kadm.NewClient(client(t, addr))
	resp, err := adm.ValidateCreateTopics(ctx, 3, 1, nil, "v")
	require.NoError(t, err)
	got := resp["v"]
	t.Logf("err %v, partitions %d, replication factor %d", got.Err, got.NumPartitions, got.ReplicationFactor)
	require.NoError(t, got.Err)
	require.Equal(t, int32(3), got.NumPartitions)
	require.Equal(t, int16(1), got.ReplicationFactor)
	names, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Empty(t, names, "nothing created")
	// and a compaction switch of a topic without records validates
	require.NoError(t, b.CreateTopic(ctx, "empty", 1, nil))
	ar, err := adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "cleanup.policy", Value: kadm.StringPtr("compact")}}, "empty")
	require.NoError(t, err)
	require.NoError(t, ar[0].Err)
}
