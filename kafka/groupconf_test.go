package kafka_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawJoin sends one JoinGroup of protocol type "test" with protocol "p"
// (metadata "meta") and returns the answer.
func rawJoin(r *rawConn, version int16, group, memberID string, instance *string) *kmsg.JoinGroupResponse {
	r.t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.SetVersion(version)
	req.Group, req.MemberID, req.InstanceID, req.ProtocolType = group, memberID, instance, "test"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "p", []byte("meta")
	req.Protocols = append(req.Protocols, p)
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	r.roundTrip(req, resp, req.IsFlexible())
	return resp
}

// rawJoinNew joins a new dynamic member, through MEMBER_ID_REQUIRED.
func rawJoinNew(r *rawConn, version int16, group string) *kmsg.JoinGroupResponse {
	r.t.Helper()
	resp := rawJoin(r, version, group, "", nil)
	if resp.ErrorCode == kerr.MemberIDRequired.Code {
		resp = rawJoin(r, version, group, resp.MemberID, nil)
	}
	require.Zero(r.t, resp.ErrorCode)
	return resp
}

func rawSync(r *rawConn, version int16, group string, join *kmsg.JoinGroupResponse, protoType, proto *string, instance *string) *kmsg.SyncGroupResponse {
	r.t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.SetVersion(version)
	req.Group, req.MemberID, req.Generation, req.InstanceID = group, join.MemberID, join.Generation, instance
	req.ProtocolType, req.Protocol = protoType, proto
	if join.LeaderID == join.MemberID {
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID, a.MemberAssignment = join.MemberID, []byte("assigned")
		req.GroupAssignment = append(req.GroupAssignment, a)
	}
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	r.roundTrip(req, resp, req.IsFlexible())
	return resp
}

// Kafka's GroupCoordinator.validateSyncGroup answers a SyncGroup v5 whose
// protocol type or name is not the group's INCONSISTENT_GROUP_PROTOCOL; the
// listener took any and echoed them back as the group's.
func TestSyncGroupProtocolChecked(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	join := rawJoinNew(r, 5, "g")
	wrong := rawSync(r, 5, "g", join, kmsg.StringPtr("test"), kmsg.StringPtr("other"), nil)
	require.Equal(t, kerr.InconsistentGroupProtocol.Code, wrong.ErrorCode, "protocol name not the group's")
	wrong = rawSync(r, 5, "g", join, kmsg.StringPtr("other"), kmsg.StringPtr("p"), nil)
	require.Equal(t, kerr.InconsistentGroupProtocol.Code, wrong.ErrorCode, "protocol type not the group's")
	ok := rawSync(r, 5, "g", join, kmsg.StringPtr("test"), kmsg.StringPtr("p"), nil)
	require.Zero(t, ok.ErrorCode)
	require.Equal(t, kmsg.StringPtr("test"), ok.ProtocolType, "the group's protocol type")
	require.Equal(t, kmsg.StringPtr("p"), ok.Protocol, "the group's protocol")
	require.Equal(t, "assigned", string(ok.MemberAssignment))
}

// A static leader that restarts (member id "", same instance id) into a
// Stable group gets the current generation without a rebalance. Kafka
// (GroupCoordinator.updateStaticMemberAndRebalance, KIP-814) tells it from
// JoinGroup v9 to skip the assignment (SkipAssignment); before v9 it names
// the old member id as leader so the client does not run its assignor: a
// Stable group ignores the plan of the leader's next SyncGroup.
func TestStaticLeaderRejoinSkipsAssignment(t *testing.T) {
	for _, v := range []int16{5, 9} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) { testStaticLeaderRejoin(t, v) })
	}
}

func testStaticLeaderRejoin(t *testing.T, v int16) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	inst := kmsg.StringPtr("i")
	first := rawJoin(r, v, "g", "", inst)
	require.Zero(t, first.ErrorCode)
	require.Equal(t, first.MemberID, first.LeaderID)
	require.Zero(t, rawSync(r, min(v, 5), "g", first, nil, nil, inst).ErrorCode)

	again := rawJoin(r, v, "g", "", inst)
	require.Zero(t, again.ErrorCode)
	require.Equal(t, first.Generation, again.Generation, "v%d: no rebalance", v)
	if v >= 9 {
		require.True(t, again.SkipAssignment, "v%d: the leader must not run the assignor", v)
	} else {
		require.NotEqual(t, again.MemberID, again.LeaderID, "v%d: the leader must not run the assignor", v)
		require.Empty(t, again.Members)
	}
}

// rawCommit commits offset 1 of t/0 for group as memberID at generation
// gen (OffsetCommit v8) and returns the partition's error code.
func rawCommit(r *rawConn, group, memberID string, gen int32) int16 {
	r.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(8)
	req.Group, req.MemberID, req.Generation = group, memberID, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Offset = 1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	r.roundTrip(req, resp, true)
	return resp.Topics[0].Partitions[0].ErrorCode
}

// Kafka's GroupCoordinator.validateOffsetCommit lets any commit of
// generation -1 into a group without members (the admin client's, or a
// consumer's outside group management, whatever member id it names), and
// handleCommitOffsets answers a commit of a real generation to a group it
// does not know ILLEGAL_GENERATION. The listener answered both
// UNKNOWN_MEMBER_ID.
func TestOffsetCommitGenerationRules(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	r := dialRaw(t, addr)
	require.Equal(t, kerr.IllegalGeneration.Code, rawCommit(r, "none", "m", 3), "a generation of a group that does not exist")
	require.Zero(t, rawCommit(r, "empty", "m", -1), "generation -1 into a new group")
	require.Zero(t, rawCommit(r, "empty", "m", -1), "generation -1 into an Empty group")

	// With members, generation -1 is refused as before.
	join := rawJoinNew(r, 5, "busy")
	require.Equal(t, kerr.UnknownMemberID.Code, rawCommit(r, "busy", "", -1))
	require.Equal(t, kerr.IllegalGeneration.Code, rawCommit(r, "busy", join.MemberID, -1))
}

// Kafka describes a group that is not Stable without its protocol and
// without its members' metadata and assignments (GroupMetadata.summary:
// summaryNoMetadata, protocol ""): they are the last generation's, or not
// yet decided. The listener gave them in every state.
func TestDescribeGroupsUnstable(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	join := rawJoinNew(r, 5, "g") // CompletingRebalance until it syncs
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.SetVersion(5)
	req.Groups = []string{"g"}
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	r.roundTrip(req, resp, true)
	g := resp.Groups[0]
	require.Equal(t, "CompletingRebalance", g.State)
	require.Equal(t, "test", g.ProtocolType)
	require.Empty(t, g.Protocol)
	require.Len(t, g.Members, 1)
	require.Equal(t, join.MemberID, g.Members[0].MemberID)
	require.Empty(t, g.Members[0].ProtocolMetadata)

	require.Zero(t, rawSync(r, 5, "g", join, nil, nil, nil).ErrorCode)
	r.roundTrip(req, resp, true)
	g = resp.Groups[0]
	require.Equal(t, "Stable", g.State)
	require.Equal(t, "p", g.Protocol)
	require.Equal(t, "meta", string(g.Members[0].ProtocolMetadata))
	require.Equal(t, "assigned", string(g.Members[0].MemberAssignment))
}

// A client told MEMBER_ID_REQUIRED that leaves before joining again (it is
// closed) sends LeaveGroup with that id: Kafka removes the pending member
// and answers NONE (GroupCoordinator.handleLeaveGroup); the listener
// answered UNKNOWN_MEMBER_ID.
func TestLeaveGroupPendingMember(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	first := rawJoin(r, 5, "g", "", nil)
	require.Equal(t, kerr.MemberIDRequired.Code, first.ErrorCode)
	req := kmsg.NewPtrLeaveGroupRequest()
	req.SetVersion(5)
	req.Group = "g"
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = first.MemberID
	req.Members = append(req.Members, m)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	r.roundTrip(req, resp, true)
	require.Zero(t, resp.ErrorCode)
	require.Zero(t, resp.Members[0].ErrorCode)
	// It is gone: joining with it now is refused.
	require.Equal(t, kerr.UnknownMemberID.Code, rawJoin(r, 5, "g", first.MemberID, nil).ErrorCode)
}
