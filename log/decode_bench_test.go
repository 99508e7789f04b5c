package log

import (
	"testing"
	"time"
)

// BenchmarkRecords decodes a batch of 1,000 records of 16-byte keys and
// 100-byte values, the shape of the read benchmarks.
func BenchmarkRecords(b *testing.B) {
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = Record{Key: make([]byte, 16), Value: make([]byte, 100)}
	}
	raw, err := Encode(nil, recs, None, nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	batch, err := Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]Record, 0, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if dst, err = batch.Records(dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
}
