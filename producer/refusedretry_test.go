package producer_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// lostThenShrunk stores the first append but loses its ack (a transport's
// connection reset), and while the producer backs off the topic's
// max.message.bytes is lowered (an admin elsewhere), so the retry of the
// same bytes is refused as too large.
type lostThenShrunk struct {
	*cairn.Broker
	n atomic.Int32
}

func (f *lostThenShrunk) AppendLogBatchAsync(ctx context.Context, topic string, p int32, batch log.Batch) (int64, func() error, error) {
	base, wait, err := f.Broker.AppendLogBatchAsync(ctx, topic, p, batch)
	if err == nil && f.n.Add(1) == 1 {
		if err := callWait(wait); err != nil {
			return 0, nil, err
		}
		if err := f.Broker.AlterTopicConfig(ctx, topic, cairn.TopicConfig{"max.message.bytes": "80"}); err != nil {
			return 0, nil, err
		}
		return 0, nil, errors.New("connection reset before the ack")
	}
	return base, wait, err
}

// A batch whose first attempt may have been stored (its ack was lost)
// and whose retry is refused (here as too large) may still be stored: its
// sequence is spent. The producer judged the outcome by the last attempt
// only, kept the sequence, and the next batch of the same size reused it:
// the partition took it for a retry of the stored one and answered its
// offset, so "second" was acknowledged but never stored.
func TestRefusedRetryAfterUnknownOutcome(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	f := &lostThenShrunk{Broker: b}
	p := newProducer(t, f, &producer.Options{RetryBackoff: time.Millisecond})
	res := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("first-value-padding-padding-padding")})
	require.Error(t, res.FirstErr()) // reported failed; it is stored, which is allowed
	require.NoError(t, b.AlterTopicConfig(ctx, "t", nil, "max.message.bytes"))
	res = p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("second-value-padding-padding-paddin")})
	require.NoError(t, res.FirstErr())
	var vals []string
	for _, r := range readAll(t, b, "t", 0) {
		vals = append(vals, string(r.Value))
	}
	t.Logf("promise of the second record: offset %d; stored: %q", res[0].Record.Offset, vals)
	require.Contains(t, vals, "second-value-padding-padding-paddin", "an acknowledged record is stored")
}

// The same with a batch of two records: the refused retry was split in
// halves, sent again (under a new id, the partition refusing the reused
// sequence) and acknowledged, so both records were stored twice, once by
// the first attempt and once by the halves.
func TestRefusedRetryAfterUnknownOutcomeNotSplit(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	f := &lostThenShrunk{Broker: b}
	p := newProducer(t, f, &producer.Options{RetryBackoff: time.Millisecond})
	res := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("aaaaaaaa")}, &producer.Record{Topic: "t", Value: []byte("bbbbbbbb")})
	var vals []string
	for _, r := range readAll(t, b, "t", 0) {
		vals = append(vals, string(r.Value))
	}
	t.Logf("results %v, %v; stored: %q", res[0].Err, res[1].Err, vals)
	require.Equal(t, []string{"aaaaaaaa", "bbbbbbbb"}, vals, "stored once")
}
