package kafka_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A long poll on a topic that is deleted is woken by its partitions
// closing, before the topic leaves the registry: the fetch read a closed
// partition and answered NOT_COORDINATOR (cairn.ErrClosed's code for the
// group calls), which the Java consumer's poll throws on as an unexpected
// fetch error code and franz-go hands the user as a fetch error. Kafka
// answers a partition it no longer serves with UNKNOWN_TOPIC_OR_PARTITION
// or NOT_LEADER_OR_FOLLOWER, which clients retry after a metadata refresh.
func TestFetchLongPollOfDeletedTopic(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "gone", 1, nil))
	_, err := b.Append(ctx, "gone", 0, cairn.Record{Value: []byte("x")})
	require.NoError(t, err)
	r := dialRaw(t, addr)
	go func() {
		time.Sleep(300 * time.Millisecond)
		assert.NoError(t, b.DeleteTopic(ctx, "gone"))
	}()
	req := fetchReq("gone", 1, 1, 1<<20, 1<<20, 1, 5000) // at the high watermark
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	r.roundTrip(req, resp, false)
	got := resp.Topics[0].Partitions[0].ErrorCode
	t.Logf("answer: %v", kerr.ErrorForCode(got))
	require.Contains(t, []int16{kerr.UnknownTopicOrPartition.Code, kerr.NotLeaderForPartition.Code}, got)
}
