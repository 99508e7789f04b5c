package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/partition"
	"github.com/stretchr/testify/require"
)

// slowFetch is a broker whose fetches from topic slow return only when
// their ctx is done, with the broker's own answer to a done ctx.
type slowFetch struct{ *cairn.Broker }

func (s slowFetch) Fetch(ctx context.Context, topic string, p int32, offset int64, maxBytes int) (partition.Fetch, error) {
	if topic == "slow" {
		<-ctx.Done()
	}
	return s.Broker.Fetch(ctx, topic, p, offset, maxBytes)
}

func (s slowFetch) FetchInto(ctx context.Context, buf []byte, topic string, p int32, offset int64, maxBytes int) (partition.Fetch, []byte, error) {
	if topic == "slow" {
		<-ctx.Done()
	}
	return s.Broker.FetchInto(ctx, buf, topic, p, offset, maxBytes)
}

// A Poll whose ctx ends while it reads a partition returns ctx's error, as
// its doc says; it used to return the partition's read error instead, a
// FetchError naming a partition that is fine (seen in CI as a flake).
func TestPollCtxEndsDuringFetch(t *testing.T) {
	b := newBroker(t, map[string]int{"slow": 1})
	appendN(t, b, "slow", 0, 1, "v")
	c := newConsumer(t, slowFetch{b}, &consumer.Options{Partitions: map[string][]int32{"slow": {0}}})
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	f, err := c.Poll(short)
	require.ErrorIs(t, err, context.DeadlineExceeded, "partition errors: %v", f.Err())
	require.Empty(t, f.Records)
	require.Empty(t, f.Errors)
}

// With other partitions, what they gave before ctx ended is returned, and
// nothing is lost or reported as a partition's error.
func TestPollCtxEndsDuringFetchKeepsRecords(t *testing.T) {
	b := newBroker(t, map[string]int{"slow": 1, "a": 1})
	appendN(t, b, "a", 0, 3, "a")
	c := newConsumer(t, slowFetch{b}, &consumer.Options{Partitions: map[string][]int32{"slow": {0}, "a": {0}}})
	var got []string
	for i := 0; i < 100 && len(got) < 3; i++ {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		f, err := c.Poll(short)
		cancel()
		require.Empty(t, f.Errors)
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			continue
		}
		for _, r := range f.Records {
			got = append(got, string(r.Value))
		}
	}
	require.Equal(t, []string{"a-0", "a-1", "a-2"}, got)
}
