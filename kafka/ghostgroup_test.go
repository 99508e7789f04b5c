package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A JoinGroup naming a member id for a group that does not exist (a
// consumer rejoining after the broker restarted, or after its group was
// deleted) is answered UNKNOWN_MEMBER_ID and creates nothing: Kafka
// (GroupCoordinator.handleJoinGroup) creates a group only for a join with
// no member id. The listener created an Empty group, which DescribeGroups
// then showed instead of Dead and ListGroups listed.
func TestJoinWithMemberIDCreatesNoGroup(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	require.Equal(t, kerr.UnknownMemberID.Code, rawJoin(r, 5, "ghost", "stale-member", nil).ErrorCode)

	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.SetVersion(5)
	desc.Groups = []string{"ghost"}
	dresp := desc.ResponseKind().(*kmsg.DescribeGroupsResponse)
	r.roundTrip(desc, dresp, true)
	require.Equal(t, "Dead", dresp.Groups[0].State)

	list := kmsg.NewPtrListGroupsRequest()
	list.SetVersion(4)
	lresp := list.ResponseKind().(*kmsg.ListGroupsResponse)
	r.roundTrip(list, lresp, true)
	require.Empty(t, lresp.Groups)

	del := kmsg.NewPtrDeleteGroupsRequest()
	del.SetVersion(2)
	del.Groups = []string{"ghost"}
	delResp := del.ResponseKind().(*kmsg.DeleteGroupsResponse)
	r.roundTrip(del, delResp, true)
	require.Equal(t, kerr.GroupIDNotFound.Code, delResp.Groups[0].ErrorCode)
}
