package kafka_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// A produce is answered with the LogAppendTime of the batch as it was
// stored: the stored batch's time if the partition stamped it (its topic
// was LogAppendTime when it was appended), else -1, as Kafka answers from
// the config its append used. The listener looked at the topic's config
// again once the append was durable, so a message.timestamp.type change
// in between made the answer disagree with the stored batch: -1 for a
// batch the broker stamped (the client keeps its own create time), or the
// client's own create time (here 1970) answered as the broker's.
func TestProduceLogAppendTimeAnswerRacesAlter(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "keep", 1, nil))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			ts := []string{"CreateTime", "LogAppendTime"}[i%2]
			if err := b.AlterTopicConfig(ctx, "keep", cairn.TopicConfig{"message.timestamp.type": ts}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()
	r := dialRaw(t, addr)
	const created = 1000 // ms: the client's create time, far from now
	bad := 0
	for i := 0; i < 2000 && bad == 0; i++ {
		resp := produce(t, r, batchAt(created, "v"))
		require.Zero(t, resp.ErrorCode)
		f, err := b.Fetch(ctx, "keep", 0, resp.BaseOffset, 1)
		require.NoError(t, err)
		require.NotEmpty(t, f.Batches)
		stored := f.Batches[0]
		want := int64(-1)
		if stored.LogAppendTime() {
			want = stored.MaxTimestamp().UnixMilli()
		}
		if resp.LogAppendTime != want {
			bad++
			t.Errorf("produce %d: answered LogAppendTime %d, stored batch (log append time %v) says %d",
				i, resp.LogAppendTime, stored.LogAppendTime(), want)
		}
	}
}
