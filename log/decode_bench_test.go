package log

import (
	"math/rand/v2"
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

// BenchmarkValidate checks a batch of 1,000 records of 16-byte keys and
// 100-byte random values as a broker does with a batch a client sent:
// uncompressed and snappy (kgo's default codec).
func BenchmarkValidate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = Record{Key: make([]byte, 16), Value: make([]byte, 100)}
		for j := range recs[i].Value {
			recs[i].Value[j] = byte(rng.Uint32())
		}
	}
	for _, c := range []Codec{None, Snappy} {
		b.Run(c.String(), func(b *testing.B) {
			raw, err := Encode(nil, recs, c, nil, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			batch, err := Parse(raw) // parsed, not built: Validate does the work
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := batch.Validate(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
		})
	}
}
