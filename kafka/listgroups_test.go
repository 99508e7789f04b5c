package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka matches ListGroups' states filter without regard to case or
// surrounding spaces (GroupMetadataManager.listGroups lowercases and
// trims it), so "empty" lists the Empty groups; the listener listed none.
func TestListGroupsStatesFilterCase(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.SetVersion(8)
	commit.Group, commit.Generation = "g", -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "t"
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	cresp := kmsg.NewPtrOffsetCommitResponse()
	cresp.SetVersion(8)
	r.roundTrip(commit, cresp, true)
	require.Zero(t, cresp.Topics[0].Partitions[0].ErrorCode)

	for _, state := range []string{"Empty", "empty", " EMPTY "} {
		req := kmsg.NewPtrListGroupsRequest()
		req.SetVersion(4)
		req.StatesFilter = []string{state}
		resp := kmsg.NewPtrListGroupsResponse()
		resp.SetVersion(4)
		r.roundTrip(req, resp, true)
		require.Len(t, resp.Groups, 1, "filter %q", state)
		require.Equal(t, "Empty", resp.Groups[0].GroupState)
	}
}
