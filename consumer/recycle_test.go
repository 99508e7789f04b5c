package consumer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
)

// plainBroker hides *cairn.Broker's FetchInto, so the consumer takes its
// fallback path: fetched batches in fresh memory, records reused.
type plainBroker struct{ consumer.Broker }

// brokerPaths runs f with the consumer reading through FetchInto and
// through the plain Broker interface.
func brokerPaths(t *testing.T, f func(t *testing.T, b *cairn.Broker, cb consumer.Broker)) {
	t.Run("fetch-into", func(t *testing.T) {
		b := newBroker(t, map[string]int{"t": 1})
		f(t, b, b)
	})
	t.Run("plain", func(t *testing.T) {
		b := newBroker(t, map[string]int{"t": 1})
		f(t, b, plainBroker{b})
	})
}

// requireValues checks that recs hold the values appendN wrote in rounds
// of n records tagged tag: offset o holds "tag-(o%n)".
func requireValues(t *testing.T, recs []*consumer.Record, n int, tag string) {
	t.Helper()
	for _, r := range recs {
		require.Equal(t, fmt.Sprintf("%s-%d", tag, r.Offset%int64(n)), string(r.Value), "offset %d", r.Offset)
		require.Equal(t, "t", r.Topic)
	}
}

func poll(t *testing.T, c *consumer.Consumer) consumer.Fetches {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	f, err := c.Poll(cctx)
	require.NoError(t, err)
	require.NoError(t, f.Err())
	return f
}

// Recycling one Poll's records never changes the records of a Poll that
// was not recycled, whole fetches or ones split over several Polls.
func TestRecycleLeavesOthersAlone(t *testing.T) {
	brokerPaths(t, func(t *testing.T, b *cairn.Broker, cb consumer.Broker) {
		const n = 100
		c := newConsumer(t, cb, &consumer.Options{Partitions: map[string][]int32{"t": {0}}, MaxPollRecords: 1000})
		appendN(t, b, "t", 0, n, "v")
		kept := poll(t, c) // never recycled
		require.Len(t, kept.Records, n)
		for range 20 {
			appendN(t, b, "t", 0, n, "v")
			f := poll(t, c)
			require.Len(t, f.Records, n)
			requireValues(t, f.Records, n, "v")
			f.Recycle()
		}
		requireValues(t, kept.Records, n, "v")
		require.Equal(t, int64(0), kept.Records[0].Offset)
	})
}

// A fetch split over Polls by MaxPollRecords is reused only once every
// Poll that returned some of it was recycled and the consumer has handed
// out all of it. Recycling a Poll again (or a copy of it) does nothing:
// were it to count as another holder's release, the fetch would be reused
// while a later Poll's records still point into it.
func TestRecycleSplitFetch(t *testing.T) {
	for _, times := range []int{1, 3} {
		t.Run(fmt.Sprintf("first-recycled-%dx", times), func(t *testing.T) {
			brokerPaths(t, func(t *testing.T, b *cairn.Broker, cb consumer.Broker) {
				const n = 100
				c := newConsumer(t, cb, &consumer.Options{Partitions: map[string][]int32{"t": {0}}, MaxPollRecords: 10})
				appendN(t, b, "t", 0, n, "a") // one batch, one fetch, ten Polls
				first := poll(t, c)
				for range times { // the rest of its fetch still waits in the consumer
					copied := first
					copied.Recycle()
				}
				second := poll(t, c) // never recycled
				require.Equal(t, int64(10), second.Records[0].Offset)
				for range 8 {
					poll(t, c).Recycle()
				}
				// Fetches of other records, recycled, must not reuse the
				// memory second points into.
				for range 30 {
					appendN(t, b, "t", 0, n, "b")
					for range 10 {
						f := poll(t, c)
						requireValues(t, f.Records, n, "b")
						f.Recycle()
					}
				}
				require.Len(t, second.Records, 10)
				requireValues(t, second.Records, n, "a")
			})
		})
	}
}

// Recycle may run on another goroutine than Poll: the race detector checks
// the hand-over.
func TestRecycleFromAnotherGoroutine(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 4})
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t"}, MaxPollRecords: 1000})
	done := make(chan consumer.Fetches)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for f := range done {
			for _, r := range f.Records {
				if want := fmt.Sprintf("v-%d", r.Offset%20); string(r.Value) != want {
					panic(fmt.Sprintf("partition %d offset %d: %q, want %q", r.Partition, r.Offset, r.Value, want))
				}
			}
			f.Recycle()
		}
	}()
	got := 0
	for range 50 {
		for p := range int32(4) {
			appendN(t, b, "t", p, 20, "v")
		}
		for want := got + 80; got < want; {
			f := poll(t, c)
			got += len(f.Records)
			done <- f
		}
	}
	close(done)
	<-finished
}
