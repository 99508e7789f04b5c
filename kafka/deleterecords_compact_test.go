package kafka_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka refuses DeleteRecords on a topic whose cleanup.policy lacks
// "delete" (POLICY_VIOLATION, Partition.deleteRecordsOnLeader): a
// compacted topic is a table, whose keys' latest values would go with the
// records. The listener deleted them: kafka-delete-records, or a purge
// over every topic, wiped a table a Kafka broker keeps.
func TestDeleteRecordsCompactedTopic(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "table", 1, cairn.TopicConfig{"cleanup.policy": "compact"}))
	require.NoError(t, b.CreateTopic(ctx, "both", 1, cairn.TopicConfig{"cleanup.policy": "compact,delete"}))
	for _, name := range []string{"table", "both"} {
		for _, k := range []string{"a", "b"} {
			_, err := b.Append(ctx, name, 0, cairn.Record{Key: []byte(k), Value: []byte("v")})
			require.NoError(t, err)
		}
	}
	r := dialRaw(t, addr)
	deleteAll := func(name string, p int32) kmsg.DeleteRecordsResponseTopicPartition {
		req := kmsg.NewPtrDeleteRecordsRequest()
		req.SetVersion(2)
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = name
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = p, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := kmsg.NewPtrDeleteRecordsResponse()
		resp.SetVersion(2)
		r.roundTrip(req, resp, true)
		return resp.Topics[0].Partitions[0]
	}

	got := deleteAll("table", 0)
	t.Logf("compact: %v, low watermark %d", kerr.ErrorForCode(got.ErrorCode), got.LowWatermark)
	require.Equal(t, kerr.PolicyViolation.Code, got.ErrorCode)
	require.Equal(t, int64(-1), got.LowWatermark)
	start, _, err := b.Watermarks("table", 0)
	require.NoError(t, err)
	require.Zero(t, start, "the table's records stay")
	_, err = b.Get(ctx, "table", []byte("a"))
	require.NoError(t, err)

	got = deleteAll("table", 5) // no such partition: that first, as Kafka
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, got.ErrorCode)

	got = deleteAll("both", 0) // compact,delete: allowed
	require.Zero(t, got.ErrorCode)
	require.Equal(t, int64(2), got.LowWatermark)
}
