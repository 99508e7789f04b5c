package producer_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
)

// nullBroker takes every batch and keeps nothing, so BenchmarkProduce
// measures the producer's own work: Produce, batching, encoding, promises.
type nullBroker struct {
	partitions int
	next       atomic.Int64
	batches    atomic.Int64
}

func (n *nullBroker) PartitionCount(string) (int, error) { return n.partitions, nil }

func (n *nullBroker) AppendLogBatch(_ context.Context, _ string, _ int32, b log.Batch) (int64, error) {
	n.batches.Add(1)
	return n.next.Add(int64(b.NumRecords())) - int64(b.NumRecords()), nil
}

func (n *nullBroker) InitProducerID(context.Context) (int64, int16, error) { return 1, 0, nil }

// BenchmarkProduce produces 100-byte records with 16-byte keys from one
// goroutine, then flushes; ns/op is the wall time per record of the
// producer alone (its senders run beside the producing goroutine).
func BenchmarkProduce(b *testing.B) {
	for _, parts := range []int{1, 8} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			ctx := context.Background()
			const n = 1 << 14
			// At most n/2 records are pending, so a record is done before
			// the loop produces it again.
			nb := &nullBroker{partitions: parts}
			p, err := producer.New(ctx, nb,
				&producer.Options{MaxBufferedRecords: n / 2})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(ctx)
			recs := make([]producer.Record, n)
			kv := make([]byte, n*116)
			for i := range kv {
				kv[i] = byte(i * 7919 >> 3)
			}
			for i := range recs {
				recs[i] = producer.Record{Topic: "t", Key: kv[i*116 : i*116+16], Value: kv[i*116+16 : (i+1)*116]}
			}
			var failed atomic.Int64
			promise := func(_ *producer.Record, err error) {
				if err != nil {
					failed.Add(1)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := &recs[i%n]
				r.Timestamp = time.Time{}
				p.Produce(ctx, r, promise)
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			if failed.Load() > 0 {
				b.Fatalf("%d records failed", failed.Load())
			}
			b.ReportMetric(float64(b.N)/float64(nb.batches.Load()), "records/batch")
		})
	}
}
