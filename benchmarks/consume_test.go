package benchmarks

import (
	"context"
	"fmt"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
)

// consumeRecords is how many records BenchmarkConsume reads per iteration,
// split evenly over the partitions.
const consumeRecords = 2_000_000

// BenchmarkConsume measures the consumer's Poll loop over 2,000,000
// records (16-byte keys, 100-byte values) appended untimed in batches of
// 1,000 to one or eight partitions, as cmd/compare consumes them: a
// consumer per partition with MaxPollRecords 10,000, each record's key and
// value touched. Each iteration reads everything twice, timed apart: once
// leaving each Poll's records to the garbage collector, once recycling
// them with Fetches.Recycle. Metrics: records/s of each
// (plain-records/s, recycled-records/s) and their ratio,
// x-recycled-vs-plain, measured in the same iterations; allocated bytes
// per record of each.
func BenchmarkConsume(b *testing.B) {
	for _, n := range partitionCounts {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) { benchConsume(b, n) })
	}
}

func benchConsume(b *testing.B, partitions int) {
	br, err := cairn.Open(b.TempDir(), &cairn.Options{Durability: cairn.NoSync})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	if err := br.CreateTopic(ctx, topicName, partitions, nil); err != nil {
		b.Fatal(err)
	}
	recs := makeRecords(partitions)
	per := consumeRecords / partitions
	err = each(partitions, func(p int) error {
		for range per / batchSize {
			if _, err := br.Append(ctx, topicName, int32(p), recs[p]...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var plain, recycled time.Duration
	var plainBytes, recycledBytes uint64
	for b.Loop() {
		for _, recycle := range []bool{false, true} {
			before := heapBytes()
			start := time.Now()
			err := each(partitions, func(p int) error { return consumeAll(ctx, br, topicName, int32(p), recycle) })
			d := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if recycle {
				recycled, recycledBytes = recycled+d, recycledBytes+heapBytes()-before
			} else {
				plain, plainBytes = plain+d, plainBytes+heapBytes()-before
			}
		}
	}
	total := float64(b.N) * consumeRecords
	b.ReportMetric(total/plain.Seconds(), "plain-records/s")
	b.ReportMetric(total/recycled.Seconds(), "recycled-records/s")
	b.ReportMetric(plain.Seconds()/recycled.Seconds(), "x-recycled-vs-plain")
	b.ReportMetric(float64(plainBytes)/total, "plain-B/record")
	b.ReportMetric(float64(recycledBytes)/total, "recycled-B/record")
}

var allocBytesSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// heapBytes returns the bytes allocated on the heap so far.
func heapBytes() uint64 {
	metrics.Read(allocBytesSample)
	return allocBytesSample[0].Value.Uint64()
}
