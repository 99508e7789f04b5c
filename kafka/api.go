package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handler answers one request; a nil response sends nothing (acks=0).
type handler func(ctx context.Context, c *conn, req kmsg.Request) (kmsg.Response, error)

type api struct {
	min, max int16
	fn       handler
}

// apis are the requests served, with the versions advertised by
// ApiVersions: only versions whose every field is implemented. Produce
// starts at v3 and Fetch at v4, the first to carry RecordBatch v2; Fetch
// and Metadata stop before topic ids replace names (v13).
var apis = map[int16]api{}

func init() {
	for _, a := range []struct {
		key      kmsg.Key
		min, max int16
		fn       handler
	}{
		{kmsg.ApiVersions, 0, 3, handleApiVersions},
		{kmsg.Metadata, 0, 12, handleMetadata},
		{kmsg.Produce, 3, 9, handleProduce},
		{kmsg.Fetch, 4, 12, handleFetch},
		{kmsg.ListOffsets, 1, 6, handleListOffsets}, // v7 is for timestamp -3, max timestamp (KIP-734), not served
		{kmsg.OffsetForLeaderEpoch, 2, 4, handleOffsetForLeaderEpoch},
		{kmsg.InitProducerID, 0, 4, handleInitProducerID},
		{kmsg.FindCoordinator, 0, 4, handleFindCoordinator},
		{kmsg.JoinGroup, 0, 9, handleJoinGroup},
		{kmsg.SyncGroup, 0, 5, handleSyncGroup},
		{kmsg.Heartbeat, 0, 4, handleHeartbeat},
		{kmsg.LeaveGroup, 0, 5, handleLeaveGroup},
		{kmsg.OffsetCommit, 0, 8, handleOffsetCommit},
		{kmsg.OffsetFetch, 0, 8, handleOffsetFetch},
		{kmsg.DescribeGroups, 0, 5, handleDescribeGroups},
		{kmsg.ListGroups, 0, 4, handleListGroups},
		{kmsg.DeleteGroups, 0, 2, handleDeleteGroups},
		{kmsg.CreateTopics, 0, 7, handleCreateTopics},
		{kmsg.DeleteTopics, 0, 5, handleDeleteTopics},
		{kmsg.CreatePartitions, 0, 3, handleCreatePartitions},
		{kmsg.DescribeConfigs, 0, 4, handleDescribeConfigs},
		{kmsg.AlterConfigs, 0, 2, handleAlterConfigs},
		{kmsg.IncrementalAlterConfigs, 0, 1, handleIncrementalAlterConfigs},
		{kmsg.DeleteRecords, 0, 2, handleDeleteRecords},
		// No authentication: as Kafka on a PLAINTEXT listener, which
		// advertises these and answers ILLEGAL_SASL_STATE, so a client
		// configured with SASL fails clearly (not advertised, franz-go
		// sent its credentials unframed and read EOF, retrying).
		{kmsg.SASLHandshake, 0, 1, handleSASL},
		{kmsg.SASLAuthenticate, 0, 2, handleSASL},
	} {
		if max := kmsg.RequestForKey(a.key.Int16()).MaxVersion(); a.max > max {
			a.max = max // never advertise what kmsg cannot decode
		}
		apis[a.key.Int16()] = api{min: a.min, max: a.max, fn: a.fn}
	}
}

func handleApiVersions(_ context.Context, _ *conn, req kmsg.Request) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = versions()
	return resp, nil
}

// handleSASL answers SaslHandshake and SaslAuthenticate as Kafka's
// KafkaApis does on a listener without SASL: ILLEGAL_SASL_STATE.
func handleSASL(_ context.Context, _ *conn, req kmsg.Request) (kmsg.Response, error) {
	switch resp := req.ResponseKind().(type) {
	case *kmsg.SASLHandshakeResponse:
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, nil
	case *kmsg.SASLAuthenticateResponse:
		resp.ErrorCode = kerr.IllegalSaslState.Code
		resp.ErrorMessage = kmsg.StringPtr("this listener has no SASL authentication")
		return resp, nil
	}
	return nil, errDrop
}

func versions() []kmsg.ApiVersionsResponseApiKey {
	var out []kmsg.ApiVersionsResponseApiKey
	for key := int16(0); key < 100; key++ {
		if a, ok := apis[key]; ok {
			out = append(out, kmsg.ApiVersionsResponseApiKey{ApiKey: key, MinVersion: a.min, MaxVersion: a.max})
		}
	}
	return out
}

// unsupportedVersions answers an ApiVersions request of a version we do
// not know: error UNSUPPORTED_VERSION with our versions, in v0 form.
func unsupportedVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ErrorCode = 35 // UNSUPPORTED_VERSION
	resp.ApiKeys = versions()
	return resp
}
