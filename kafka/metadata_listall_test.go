package kafka_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/cairnlog/cairn/kafka"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka auto-creates only topics a Metadata request names: a request for
// every topic (null topics) creates none. With AutoCreateTopics on, a
// list-all Metadata that races a DeleteTopic brought the deleted topic back.
func TestMetadataAllTopicsDoesNotRecreateDeleted(t *testing.T) {
	b, addr := serve(t, &kafka.Options{AutoCreateTopics: true})
	const n = 300
	for i := range n {
		require.NoError(t, b.CreateTopic(ctx, fmt.Sprint("t", i), 1, nil))
	}
	r := dialRaw(t, addr)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			require.NoError(t, b.DeleteTopic(ctx, fmt.Sprint("t", i)))
		}
	}()
	for range 20 {
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(9)
		req.Topics = nil // every topic
		req.AllowAutoTopicCreation = true
		resp := kmsg.NewPtrMetadataResponse()
		resp.SetVersion(9)
		r.roundTrip(req, resp, true)
	}
	wg.Wait()
	left, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Empty(t, left, "topics deleted, then created again by a list-all Metadata")
}
