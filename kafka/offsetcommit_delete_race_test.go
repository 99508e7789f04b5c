package kafka_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// An OffsetCommit racing DeleteTopic must not land after the topic's
// commits were removed: a topic created again under the name would
// inherit it (Broker.CommitOffsets orders the two; the listener's
// OffsetCommit went round it). The request's long tail of partitions of
// a topic that does not exist widens the window between the check of
// "t" and the commit.
func TestOffsetCommitRacesDeleteTopic(t *testing.T) {
	b, addr := serve(t, nil)
	r := dialRaw(t, addr)
	tp := group.TopicPartition{Topic: "t", Partition: 0}
	for i := 0; i < 20; i++ {
		require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
		req := kmsg.NewPtrOffsetCommitRequest()
		req.SetVersion(2)
		req.Group, req.Generation = "g", -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Offset = 42
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		nx := kmsg.NewOffsetCommitRequestTopic()
		nx.Topic = "nope"
		for p := range 50000 {
			np := kmsg.NewOffsetCommitRequestTopicPartition()
			np.Partition, np.Offset = int32(p), 1
			nx.Partitions = append(nx.Partitions, np)
		}
		req.Topics = append(req.Topics, nx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp := kmsg.NewPtrOffsetCommitResponse()
			resp.SetVersion(2)
			r.roundTrip(req, resp, false)
		}()
		time.Sleep(time.Duration(i%20) * 5 * time.Millisecond)
		require.NoError(t, b.DeleteTopic(ctx, "t"))
		<-done
		require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
		got, err := b.FetchOffsets(ctx, "g", tp)
		require.NoError(t, err)
		require.NotContains(t, got, tp, "round %d: the topic created again inherited a commit of the deleted one", i)
		require.NoError(t, b.DeleteTopic(ctx, "t"))
	}
}
