package producer_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// A partition count that is not one (a Broker answering 0, a caller's
// bad n) gives no partition, -1, rather than a division by zero.
func TestPartitionersBadCountBadInput(t *testing.T) {
	for _, n := range []int{0, -1, math.MaxInt32 + 1, 1 << 32} {
		require.NotPanics(t, func() {
			require.Equal(t, int32(-1), producer.KeyPartition([]byte("k"), n), n)
			require.Equal(t, int32(-1), producer.KeyPartition(nil, n), n)
			require.Equal(t, int32(-1), producer.Default().Partition(&producer.Record{Key: []byte("k")}, n), n)
			require.Equal(t, int32(-1), producer.Default().Partition(&producer.Record{}, n), n)
			require.Equal(t, int32(-1), producer.RoundRobin().Partition(&producer.Record{}, n), n)
		}, n)
	}
	require.Equal(t, int32(0), producer.KeyPartition([]byte("k"), 1))
}

// zeroPartitions is a Broker whose topic reports no partitions.
type zeroPartitions struct{ producer.Broker }

func (zeroPartitions) PartitionCount(string) (int, error) { return 0, nil }

// Produce to a topic reported with 0 partitions fails the record with
// ErrUnknownPartition; it panicked (integer divide by zero).
func TestProduceZeroPartitionsBadInput(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	p := newProducer(t, zeroPartitions{b}, nil)
	var err error
	require.NotPanics(t, func() {
		err = p.ProduceSync(ctx, &producer.Record{Topic: "t", Key: []byte("k")}).FirstErr()
	})
	require.ErrorIs(t, err, cairn.ErrUnknownPartition)
}

// A record whose timestamp has no int64 millisecond count fails alone,
// at Produce, instead of being stored stamped 1970 (or failing the batch
// it shares with other records).
func TestProduceTimestampRangeBadInput(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	p := newProducer(t, b, &producer.Options{Linger: 50 * time.Millisecond})
	good := &producer.Record{Topic: "t", Value: []byte("ok")}
	bad := &producer.Record{Topic: "t", Value: []byte("far"), Timestamp: time.Unix(1<<62, 0)}
	res := p.ProduceSync(ctx, good, bad)
	require.NoError(t, res[0].Err)
	require.ErrorIs(t, res[1].Err, cairn.ErrInvalidRecord)
	recs, err := b.Read(context.Background(), "t", 0, 0, 1<<20)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "ok", string(recs[0].Value))
}

// nil Options are documented valid; Validate on them does not panic.
func TestNilOptionsValidateBadInput(t *testing.T) {
	var o *producer.Options
	require.NoError(t, o.Validate())
}
