package kafka_test

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/kafka"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var rewriteSeeds = flag.Bool("rewrite-seeds", false, "rewrite testdata/fuzz/FuzzRequest from seedRequest")

// frameServer returns a server that is not listening, over a broker with a
// topic "t" of two partitions holding a few records, for ServeFrame.
func frameServer(tb testing.TB) *kafka.Server {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	require.NoError(tb, err)
	require.NoError(tb, b.CreateTopic(ctx, "t", 2, nil))
	for p := range int32(2) {
		for i := range 3 {
			_, err := b.Append(ctx, "t", p, cairn.Record{Key: []byte("k"), Value: fmt.Append(nil, i)})
			require.NoError(tb, err)
		}
	}
	s := kafka.NewServer(b, &kafka.Options{AutoCreateTopics: true, MaxRequestBytes: 1 << 20})
	tb.Cleanup(func() {
		require.NoError(tb, s.Close())
		require.NoError(tb, b.Close())
	})
	return s
}

// serveFrame runs one frame through the server with handlers bounded to a
// short time (long polls and group joins would otherwise wait), and checks
// the answer, if any, is a response kmsg decodes, with the request's
// correlation id.
func serveFrame(t *testing.T, s *kafka.Server, frame []byte) error {
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	out, err := kafka.ServeFrame(cctx, s, frame)
	if err != nil || len(out) == 0 {
		return err
	}
	key, version := int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:]))
	if int(binary.BigEndian.Uint32(out)) != len(out)-4 {
		t.Fatalf("response size %d, frame of %d bytes", binary.BigEndian.Uint32(out), len(out)-4)
	}
	if got, want := binary.BigEndian.Uint32(out[4:]), binary.BigEndian.Uint32(frame[4:]); got != want {
		t.Fatalf("correlation id %d, want %d", got, want)
	}
	req := kmsg.RequestForKey(key)
	if req == nil {
		t.Fatalf("answered unknown key %d", key)
	}
	req.SetVersion(version)
	resp := req.ResponseKind()
	body := out[8:]
	switch {
	case key == kmsg.ApiVersions.Int16():
		// A v0 header always; a v0 body with UNSUPPORTED_VERSION.
		if len(body) >= 2 && int16(binary.BigEndian.Uint16(body)) == kerr.UnsupportedVersion.Code {
			version = 0
		}
	case req.IsFlexible():
		if len(body) == 0 || body[0] != 0 {
			t.Fatalf("flexible response header %x", body)
		}
		body = body[1:]
	}
	resp.SetVersion(version)
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("response to key %d v%d does not decode: %v\n%x", key, version, err, body)
	}
	return nil
}

// FuzzRequest feeds arbitrary frames through the server's parse and
// dispatch path: it must never panic, and what it answers must decode.
func FuzzRequest(f *testing.F) {
	s := frameServer(f)
	f.Fuzz(func(t *testing.T, frame []byte) {
		_ = serveFrame(t, s, frame)
	})
}

// Every advertised key, at its lowest and highest version, is answered
// with a response that decodes; the fuzz seeds are these requests.
func TestFuzzSeeds(t *testing.T) {
	s := frameServer(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzRequest")
	if *rewriteSeeds {
		require.NoError(t, os.RemoveAll(dir))
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	for _, seed := range seeds(t, s) {
		require.NoError(t, serveFrame(t, s, seed.frame), seed.name)
		file := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed.frame)
		path := filepath.Join(dir, seed.name)
		if *rewriteSeeds {
			require.NoError(t, os.WriteFile(path, []byte(file), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "regenerate with -rewrite-seeds")
		require.Equal(t, file, string(got), "%s is stale: regenerate with -rewrite-seeds", path)
	}
}

type seed struct {
	name  string
	frame []byte
}

// seeds asks the server which versions it serves, and returns a request of
// each key at its lowest and highest version.
func seeds(t *testing.T, s *kafka.Server) []seed {
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(0)
	out, err := kafka.ServeFrame(ctx, s, encode(req, 0))
	require.NoError(t, err)
	resp := kmsg.NewPtrApiVersionsResponse()
	require.NoError(t, resp.ReadFrom(out[8:]))
	var all []seed
	for _, k := range resp.ApiKeys {
		versions := []int16{k.MinVersion}
		if k.MaxVersion != k.MinVersion {
			versions = append(versions, k.MaxVersion)
		}
		for _, v := range versions {
			req := seedRequest(k.ApiKey)
			req.SetVersion(v)
			all = append(all, seed{seedName(k.ApiKey, v), encode(req, int32(len(all)+1))})
		}
	}
	return all
}

func seedName(key, version int16) string {
	return fmt.Sprintf("%s-v%d", strings.ToLower(kmsg.NameForKey(key)), version)
}

// seedRequest returns a valid request of key about topic "t" and group "g".
func seedRequest(key int16) kmsg.Request {
	switch r := kmsg.RequestForKey(key).(type) {
	case *kmsg.ApiVersionsRequest:
		r.ClientSoftwareName, r.ClientSoftwareVersion = "fuzz", "1"
		return r
	case *kmsg.MetadataRequest:
		r.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
		r.AllowAutoTopicCreation = true
		return r
	case *kmsg.ProduceRequest:
		return produceRequest("t", 1, batchAt(1<<40, "seed-a", "seed-b")) // fixed: the seed files stay the same
	case *kmsg.FetchRequest:
		r.MaxWaitMillis, r.MinBytes, r.MaxBytes = 10, 1, 1<<20
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, 1, 1<<20
		r.Topics = []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{rp}}}
		return r
	case *kmsg.ListOffsetsRequest:
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = 0, -2
		r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.ListOffsetsRequestTopicPartition{rp}}}
		return r
	case *kmsg.OffsetForLeaderEpochRequest:
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition = 1
		r.Topics = []kmsg.OffsetForLeaderEpochRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{rp}}}
		return r
	case *kmsg.InitProducerIDRequest:
		r.TransactionTimeoutMillis = 1000
		return r
	case *kmsg.FindCoordinatorRequest:
		r.CoordinatorKey, r.CoordinatorKeys = "g", []string{"g"}
		return r
	case *kmsg.JoinGroupRequest:
		r.Group, r.SessionTimeoutMillis, r.RebalanceTimeoutMillis, r.ProtocolType = "g", 6000, 100, "consumer"
		r.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0}}}
		return r
	case *kmsg.SyncGroupRequest:
		r.Group, r.Generation, r.MemberID = "g", 1, "m"
		r.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: "m", MemberAssignment: []byte{0, 1}}}
		return r
	case *kmsg.HeartbeatRequest:
		r.Group, r.Generation, r.MemberID = "g", 1, "m"
		return r
	case *kmsg.LeaveGroupRequest:
		r.Group, r.MemberID = "g", "m"
		r.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
		return r
	case *kmsg.OffsetCommitRequest:
		r.Group, r.Generation = "g", -1
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 0, 2
		r.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{rp}}}
		return r
	case *kmsg.OffsetFetchRequest:
		r.Group = "g"
		r.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
		r.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0, 1}}}}}
		return r
	case *kmsg.DescribeGroupsRequest:
		r.Groups = []string{"g"}
		return r
	case *kmsg.ListGroupsRequest:
		return r
	case *kmsg.DeleteGroupsRequest:
		r.Groups = []string{"g"}
		return r
	case *kmsg.CreateTopicsRequest:
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "u", 2, 1
		rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: kmsg.StringPtr("60000")}}
		r.Topics, r.TimeoutMillis = []kmsg.CreateTopicsRequestTopic{rt}, 1000
		return r
	case *kmsg.DeleteTopicsRequest:
		r.TopicNames = []string{"u"}
		r.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("u")}}
		r.TimeoutMillis = 1000
		return r
	case *kmsg.CreatePartitionsRequest:
		r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "t", Count: 3}}
		r.TimeoutMillis, r.ValidateOnly = 1000, true
		return r
	case *kmsg.DescribeConfigsRequest:
		r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}}
		return r
	case *kmsg.AlterConfigsRequest:
		r.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t",
			Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr("120000")}}}}
		return r
	case *kmsg.IncrementalAlterConfigsRequest:
		r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t",
			Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpSet, Value: kmsg.StringPtr("180000")}}}}
		return r
	case *kmsg.DeleteRecordsRequest:
		r.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: "t", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 1, Offset: 1}}}}
		r.TimeoutMillis = 1000
		return r
	case *kmsg.SASLHandshakeRequest:
		r.Mechanism = "PLAIN"
		return r
	case *kmsg.SASLAuthenticateRequest:
		r.SASLAuthBytes = []byte("\x00u\x00p")
		return r
	default:
		panic(fmt.Sprintf("no seed request for key %d: add one", key))
	}
}
