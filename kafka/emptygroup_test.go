package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka serves OffsetCommit, OffsetFetch, DescribeGroups and DeleteGroups
// for the empty group id (GroupCoordinator.isValidGroupId: "for backwards
// compatibility"): a Java consumer before 2.2 has group.id "" by default,
// and one that assigns its partitions fetches the group's committed
// offsets before its first fetch, and commits there. The listener answered
// INVALID_GROUP_ID, which that consumer's poll throws on. The group
// membership calls still refuse the empty id.
func TestEmptyGroupIDOffsets(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)

	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.SetVersion(4)
	fetch.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	fresp := fetch.ResponseKind().(*kmsg.OffsetFetchResponse)
	r.roundTrip(fetch, fresp, false)
	require.Zero(t, fresp.ErrorCode, "nothing committed yet")
	require.Equal(t, int64(-1), fresp.Topics[0].Partitions[0].Offset)

	require.Zero(t, rawCommit(r, "", "", -1), "a simple commit into the group \"\"")
	fresp = fetch.ResponseKind().(*kmsg.OffsetFetchResponse)
	r.roundTrip(fetch, fresp, false)
	require.Zero(t, fresp.ErrorCode)
	require.Equal(t, int64(1), fresp.Topics[0].Partitions[0].Offset)

	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.SetVersion(5)
	desc.Groups = []string{""}
	dresp := desc.ResponseKind().(*kmsg.DescribeGroupsResponse)
	r.roundTrip(desc, dresp, true)
	require.Zero(t, dresp.Groups[0].ErrorCode)
	require.Equal(t, "Empty", dresp.Groups[0].State)

	del := kmsg.NewPtrDeleteGroupsRequest()
	del.SetVersion(2)
	del.Groups = []string{""}
	delResp := del.ResponseKind().(*kmsg.DeleteGroupsResponse)
	r.roundTrip(del, delResp, true)
	require.Zero(t, delResp.Groups[0].ErrorCode)

	require.Equal(t, kerr.InvalidGroupID.Code, rawJoin(r, 5, "", "", nil).ErrorCode, "membership needs a group id")
}
