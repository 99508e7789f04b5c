package kafka_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A fetch that names no partition has nothing to wait for: Kafka answers
// it at once (ReplicaManager.fetchMessages), where Cairn waited out its
// MaxWaitMillis (60 s here; the raw read gives up after 10).
func TestFetchNoPartitionsAnsweredAtOnce(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(11)
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 60_000, 1, 1<<20
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	r.roundTrip(req, resp, false) // v11: not flexible; fails after 10 s
	require.Zero(t, resp.ErrorCode)
}

// A full fetch (session epoch 0 or -1) that names a session id closes
// that session and is served as a sessionless fetch in Kafka's
// FetchManager; Cairn refused it with FETCH_SESSION_ID_NOT_FOUND. An
// incremental fetch (epoch above 0) in a session it never opened is still
// refused.
func TestFetchFullWithSessionIDServed(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	_, err := b.Append(ctx, "t", 0, cairn.Record{Value: []byte("v")})
	require.NoError(t, err)
	r := dialRaw(t, addr)
	for _, tc := range []struct {
		epoch int32
		want  int16
	}{{-1, 0}, {0, 0}, {1, kerr.FetchSessionIDNotFound.Code}} {
		req := fetchReq("t", 1, 0, 1<<20, 1<<20, 1, 100)
		req.SessionID, req.SessionEpoch = 123, tc.epoch
		resp := kmsg.NewPtrFetchResponse()
		resp.SetVersion(11)
		r.roundTrip(req, resp, false) // v11: not flexible
		require.Equal(t, tc.want, resp.ErrorCode, "epoch %d", tc.epoch)
		if tc.want == 0 {
			require.Zero(t, resp.SessionID, "no session opened")
			require.NotEmpty(t, resp.Topics[0].Partitions[0].RecordBatches, "epoch %d", tc.epoch)
		}
	}
}
