package kafka

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/topic"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// nodeID is the single broker's id.
const nodeID = 0

// topicUUID derives a topic's Kafka topic id from Cairn's internal id,
// which is never reused, so the UUID is stable and unique per topic.
func topicUUID(id uint32) [16]byte {
	var u [16]byte
	copy(u[:], topicUUIDPrefix)
	binary.BigEndian.PutUint32(u[12:], id)
	return u
}

const topicUUIDPrefix = "cairn-topic-"

// TopicID returns the Cairn topic id (Broker.TopicID) that a Kafka topic
// id from a Cairn listener stands for, and false for an id no Cairn
// listener gives (another broker's).
func TopicID(u [16]byte) (uint32, bool) {
	if string(u[:len(topicUUIDPrefix)]) != topicUUIDPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint32(u[12:]), true
}

func handleMetadata(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	host, port := c.host, c.port
	resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: nodeID, Host: host, Port: port}}
	resp.ClusterID = kmsg.StringPtr("cairn")
	resp.ControllerID = nodeID

	var names []string
	var ids [][16]byte // v12+: topics named by id alone
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		names, _ = c.s.b.Topics(ctx) // all topics
	} else {
		// As Kafka, which reads the request's topics as a set: a topic
		// named twice is answered once.
		seenName, seenID := map[string]bool{}, map[[16]byte]bool{}
		for _, t := range req.Topics {
			switch {
			case t.Topic != nil:
				if !seenName[*t.Topic] {
					seenName[*t.Topic] = true
					names = append(names, *t.Topic)
				}
			case t.TopicID != [16]byte{}:
				if !seenID[t.TopicID] {
					seenID[t.TopicID] = true
					ids = append(ids, t.TopicID)
				}
			}
		}
	}
	// As Kafka: only topics the request names are auto-created; a
	// listing of every topic creates none (one deleted meanwhile is left
	// out, not created again).
	autoCreate := !all && c.s.opts.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, name := range names {
		t := c.s.topicMetadata(ctx, name, autoCreate)
		if all && t.ErrorCode == kerr.UnknownTopicOrPartition.Code {
			continue
		}
		resp.Topics = append(resp.Topics, t)
	}
	for _, id := range ids {
		resp.Topics = append(resp.Topics, c.s.topicMetadataByID(ctx, id))
	}
	return resp, nil
}

// topicMetadataByID answers a topic asked for by id, as Kafka does:
// UNKNOWN_TOPIC_ID when no topic has it.
func (s *Server) topicMetadataByID(ctx context.Context, id [16]byte) kmsg.MetadataResponseTopic {
	names, _ := s.b.Topics(ctx)
	for _, name := range names {
		if n, err := s.b.TopicID(name); err == nil && topicUUID(n) == id {
			if t := s.topicMetadata(ctx, name, false); t.ErrorCode == 0 {
				return t
			}
			break // deleted meanwhile
		}
	}
	t := kmsg.NewMetadataResponseTopic()
	t.TopicID, t.ErrorCode = id, kerr.UnknownTopicID.Code
	return t
}

func (s *Server) topicMetadata(ctx context.Context, name string, autoCreate bool) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	t.Topic = kmsg.StringPtr(name)
	info, err := s.b.DescribeTopic(ctx, name)
	switch {
	case !errors.Is(err, cairn.ErrUnknownTopic):
	case autoCreate:
		if err = s.b.CreateTopic(ctx, name, s.opts.DefaultPartitions, nil); err == nil || errors.Is(err, cairn.ErrTopicExists) {
			info, err = s.b.DescribeTopic(ctx, name)
		}
	default:
		// As Kafka, auto-creating or not: a name that cannot exist is
		// INVALID_TOPIC_EXCEPTION, which clients do not retry.
		if nerr := topic.ValidateName(name); nerr != nil {
			err = nerr
		}
	}
	if err != nil {
		t.ErrorCode = code(err)
		return t
	}
	t.TopicID = topicUUID(info.ID)
	for _, p := range info.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p.Partition
		mp.Leader = nodeID
		mp.Replicas = []int32{nodeID}
		mp.ISR = []int32{nodeID}
		t.Partitions = append(t.Partitions, mp)
	}
	return t
}

func handleFindCoordinator(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	host, port := c.host, c.port
	if req.Version < 4 {
		resp.NodeID, resp.Host, resp.Port = nodeID, host, port
		return resp, nil
	}
	for _, key := range req.CoordinatorKeys {
		co := kmsg.NewFindCoordinatorResponseCoordinator()
		co.Key, co.NodeID, co.Host, co.Port = key, nodeID, host, port
		resp.Coordinators = append(resp.Coordinators, co)
	}
	return resp, nil
}
