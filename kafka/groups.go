package kafka

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The group requests drive the same coordinator as in-process consumers,
// so one group can mix Kafka clients and consumer.Consumer.

func ms(v int32) time.Duration { return time.Duration(v) * time.Millisecond }

func handleJoinGroup(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.JoinGroupRequest)
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	jr := group.JoinRequest{
		Group: req.Group, MemberID: req.MemberID, ProtocolType: req.ProtocolType,
		SessionTimeout: ms(req.SessionTimeoutMillis), RebalanceTimeout: ms(req.RebalanceTimeoutMillis),
		RequireKnownMemberID: req.Version >= 4, ClientID: c.clientID,
	}
	if req.Version == 0 {
		jr.RebalanceTimeout = jr.SessionTimeout
	}
	if req.InstanceID != nil {
		jr.InstanceID = *req.InstanceID
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	out, err := c.s.b.Groups().JoinGroup(ctx, jr)
	resp.ErrorCode = code(err)
	if errors.Is(err, group.ErrMemberIDRequired) {
		resp.MemberID = out.MemberID
		return resp, nil
	}
	if err != nil {
		resp.Generation = -1
		return resp, nil
	}
	resp.Generation, resp.LeaderID, resp.MemberID = out.Generation, out.LeaderID, out.MemberID
	resp.Protocol = kmsg.StringPtr(out.Protocol)
	resp.ProtocolType = kmsg.StringPtr(out.ProtocolType)
	if out.SkipAssignment {
		if req.Version < 9 {
			// As Kafka: a client that cannot skip is told its old id
			// leads, so it runs no assignor whose plan would be ignored.
			resp.LeaderID = out.PreviousLeaderID
			return resp, nil
		}
		resp.SkipAssignment = true
	}
	for _, m := range out.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.ProtocolMetadata = m.MemberID, m.Metadata
		if m.InstanceID != "" {
			rm.InstanceID = kmsg.StringPtr(m.InstanceID)
		}
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}

func instance(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func handleSyncGroup(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.SyncGroupRequest)
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	sr := group.SyncRequest{Group: req.Group, MemberID: req.MemberID, InstanceID: instance(req.InstanceID),
		Generation: req.Generation, Assignments: map[string][]byte{},
		ProtocolType: instance(req.ProtocolType), Protocol: instance(req.Protocol)}
	for _, a := range req.GroupAssignment {
		sr.Assignments[a.MemberID] = a.MemberAssignment
	}
	assignment, err := c.s.b.Groups().SyncGroup(ctx, sr)
	resp.ErrorCode, resp.MemberAssignment = code(err), assignment
	if err == nil { // checked equal to the group's
		resp.ProtocolType, resp.Protocol = req.ProtocolType, req.Protocol
	}
	return resp, nil
}

func handleHeartbeat(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = code(c.s.b.Groups().Heartbeat(ctx, group.HeartbeatRequest{Group: req.Group,
		MemberID: req.MemberID, InstanceID: instance(req.InstanceID), Generation: req.Generation}))
	return resp, nil
}

func handleLeaveGroup(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if req.Version < 3 {
		resp.ErrorCode = code(c.s.b.Groups().LeaveGroup(ctx, req.Group, group.MemberIdentity{MemberID: req.MemberID}))
		return resp, nil
	}
	for _, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = m.MemberID, m.InstanceID
		rm.ErrorCode = code(c.s.b.Groups().LeaveGroup(ctx, req.Group,
			group.MemberIdentity{MemberID: m.MemberID, InstanceID: instance(m.InstanceID)}))
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}

// maxOffsetMetadata is Kafka's default offset.metadata.max.bytes.
const maxOffsetMetadata = 4096

func handleOffsetCommit(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	cr := group.CommitRequest{Group: req.Group, MemberID: req.MemberID, InstanceID: instance(req.InstanceID),
		Generation: req.Generation, Offsets: map[group.TopicPartition]group.Committed{}, AnyPartition: true}
	if req.Version == 0 {
		cr.Generation = -1 // v0 has no generation: a simple commit
	}
	// As Kafka: a partition that does not exist, whose metadata is over
	// offset.metadata.max.bytes, or (Cairn's own refusal) whose offset is
	// negative gets its own error and nothing is stored for it; the
	// others are committed together.
	unknown := map[group.TopicPartition]int16{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tp := group.TopicPartition{Topic: t.Topic, Partition: p.Partition}
			if _, err := c.s.b.Partition(t.Topic, p.Partition); err != nil {
				unknown[tp] = code(err)
				continue
			}
			if p.Metadata != nil && len(*p.Metadata) > maxOffsetMetadata {
				unknown[tp] = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			if p.Offset < 0 {
				unknown[tp] = code(group.ErrInvalidOffset)
				continue
			}
			cr.Offsets[tp] = group.Committed{Offset: p.Offset, Metadata: instance(p.Metadata)}
		}
	}
	var errCode int16
	if len(cr.Offsets) > 0 {
		// Through the broker, which orders the commit against DeleteTopic:
		// a partition deleted since the check above is refused, the
		// others are stored.
		err := c.s.b.CommitOffsets(ctx, cr)
		if errors.Is(err, cairn.ErrUnknownTopic) || errors.Is(err, cairn.ErrUnknownPartition) {
			for tp := range cr.Offsets {
				if _, perr := c.s.b.Partition(tp.Topic, tp.Partition); perr != nil {
					unknown[tp] = code(perr)
				}
			}
			err = nil
		}
		errCode = code(err)
	}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, errCode
			if c, ok := unknown[group.TopicPartition{Topic: t.Topic, Partition: p.Partition}]; ok {
				rp.ErrorCode = c
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func handleOffsetFetch(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, g := range req.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group = g.Group
			var topics []kmsg.OffsetFetchRequestTopic
			if g.Topics != nil {
				for _, t := range g.Topics {
					topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions})
				}
			}
			fetched, err := c.s.fetchOffsets(ctx, g.Group, topics, g.Topics == nil)
			rg.ErrorCode = code(err)
			for _, t := range fetched {
				gt := kmsg.NewOffsetFetchResponseGroupTopic()
				gt.Topic = t.Topic
				for _, p := range t.Partitions {
					gp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					gp.Partition, gp.Offset, gp.Metadata, gp.ErrorCode, gp.LeaderEpoch = p.Partition, p.Offset, p.Metadata, p.ErrorCode, -1
					gt.Partitions = append(gt.Partitions, gp)
				}
				rg.Topics = append(rg.Topics, gt)
			}
			resp.Groups = append(resp.Groups, rg)
		}
		return resp, nil
	}
	fetched, err := c.s.fetchOffsets(ctx, req.Group, req.Topics, req.Topics == nil)
	resp.ErrorCode, resp.Topics = code(err), fetched
	return resp, nil
}

// fetchOffsets answers one group's OffsetFetch: the named partitions (or
// every committed one when all is set), -1 for none committed.
func (s *Server) fetchOffsets(ctx context.Context, groupID string, topics []kmsg.OffsetFetchRequestTopic, all bool) ([]kmsg.OffsetFetchResponseTopic, error) {
	var tps []group.TopicPartition
	for _, t := range topics {
		for _, p := range t.Partitions {
			tps = append(tps, group.TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	committed, err := s.b.Groups().FetchOffsets(ctx, groupID, tps...)
	if err != nil {
		return nil, err
	}
	if all {
		for tp := range committed {
			tps = append(tps, tp)
		}
		slices.SortFunc(tps, group.TopicPartition.Compare)
	}
	var out []kmsg.OffsetFetchResponseTopic
	for _, tp := range tps {
		if len(out) == 0 || out[len(out)-1].Topic != tp.Topic {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = tp.Topic
			out = append(out, rt)
		}
		rp := kmsg.NewOffsetFetchResponseTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = tp.Partition, -1, -1
		if com, ok := committed[tp]; ok {
			rp.Offset, rp.Metadata = com.Offset, kmsg.StringPtr(com.Metadata)
		}
		out[len(out)-1].Partitions = append(out[len(out)-1].Partitions, rp)
	}
	return out, nil
}

func handleDescribeGroups(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = id
		d, err := c.s.b.Groups().DescribeGroup(ctx, id)
		switch {
		case errors.Is(err, group.ErrUnknownGroup):
			rg.State = group.Dead.String() // as Kafka describes a group it does not know
		case err != nil:
			rg.ErrorCode = code(err)
		default:
			// As Kafka (GroupMetadata.summary): only a Stable group shows
			// its protocol and members' metadata and assignments; in
			// another state they are undecided or the last generation's.
			stable := d.State == group.Stable
			rg.State, rg.ProtocolType = d.State.String(), d.ProtocolType
			if stable {
				rg.Protocol = d.Protocol
			}
			for _, m := range d.Members {
				rm := kmsg.NewDescribeGroupsResponseGroupMember()
				rm.MemberID, rm.ClientID, rm.ClientHost = m.MemberID, m.ClientID, "/127.0.0.1"
				if stable {
					rm.ProtocolMetadata, rm.MemberAssignment = m.Metadata, m.Assignment
				}
				if m.InstanceID != "" {
					rm.InstanceID = kmsg.StringPtr(m.InstanceID)
				}
				rg.Members = append(rg.Members, rm)
			}
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}

func handleListGroups(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	list, err := c.s.b.Groups().ListGroups(ctx)
	resp.ErrorCode = code(err)
	for _, g := range list {
		if len(req.StatesFilter) > 0 && !slices.ContainsFunc(req.StatesFilter, func(s string) bool {
			return strings.EqualFold(strings.TrimSpace(s), g.State.String()) // as Kafka: case and spaces aside
		}) {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState = g.Group, g.ProtocolType, g.State.String()
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}

func handleDeleteGroups(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group, rg.ErrorCode = id, code(c.s.b.Groups().DeleteGroup(ctx, id))
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
