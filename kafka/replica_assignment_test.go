package kafka_test

import (
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka creates a topic from a manual replica assignment naming live
// brokers (kafka-topics.sh --replica-assignment, sarama's
// TopicDetail.ReplicaAssignment): here, every partition on broker 0. It
// refuses an assignment naming an unknown broker, or partitions that are
// not 0..n-1, with INVALID_REPLICA_ASSIGNMENT, and one given with a
// partition count or replication factor with INVALID_REQUEST.
func TestCreateTopicsReplicaAssignment(t *testing.T) {
	b, addr := serve(t, nil)
	cfg := saramaConfig()
	cfg.Version = sarama.V2_8_0_0
	adm, err := sarama.NewClusterAdmin([]string{addr}, cfg)
	require.NoError(t, err)
	defer adm.Close()
	err = adm.CreateTopic("assigned", &sarama.TopicDetail{NumPartitions: -1, ReplicationFactor: -1,
		ReplicaAssignment: map[int32][]int32{0: {0}, 1: {0}}}, false)
	require.NoError(t, err)
	n, err := b.PartitionCount("assigned")
	require.NoError(t, err)
	require.Equal(t, 2, n)

	r := dialRaw(t, addr)
	create := func(parts int32, rf int16, assign map[int32][]int32) int16 {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.SetVersion(7)
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "t", parts, rf
		for p, rs := range assign {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = p, rs
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
		}
		req.Topics = append(req.Topics, rt)
		resp := kmsg.NewPtrCreateTopicsResponse()
		resp.SetVersion(7)
		r.roundTrip(req, resp, true)
		return resp.Topics[0].ErrorCode
	}
	require.Equal(t, kerr.InvalidReplicaAssignment.Code, create(-1, -1, map[int32][]int32{0: {1}}))
	require.Equal(t, kerr.InvalidReplicaAssignment.Code, create(-1, -1, map[int32][]int32{1: {0}}))
	require.Equal(t, kerr.InvalidReplicaAssignment.Code, create(-1, -1, map[int32][]int32{0: {0, 0}}))
	require.Equal(t, kerr.InvalidRequest.Code, create(1, -1, map[int32][]int32{0: {0}}))
	_, err = b.PartitionCount("t")
	require.Error(t, err)
}
