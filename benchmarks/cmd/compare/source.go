package main

import (
	"math/rand/v2"

	"github.com/cairnlog/cairn/producer"
)

const (
	keySize   = 16
	poolSize  = 1 << 16 // distinct keys and values; 64 Ki x 1 KiB repeats far beyond any codec window
	topicName = "bench"
)

// source hands out the records of a run: random (incompressible) 16-byte
// keys and values from a fixed seed. Every system gets the same records in
// the same order. Keys are grouped by the partition Kafka's murmur2
// partitioner (which Cairn's and kgo's default partitioners use) sends
// them to, so the goroutine producing partition p only produces keys that
// land on p, whichever system it drives.
type source struct {
	keys   [][][]byte // by partition
	values [][]byte
}

func newSource(partitions, valueSize int) *source {
	rng := rand.New(rand.NewPCG(7, 11))
	fill := func(n int) []byte {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		return buf
	}
	s := &source{keys: make([][][]byte, partitions), values: make([][]byte, poolSize)}
	for i := range s.values {
		s.values[i] = fill(valueSize)
	}
	for range poolSize {
		k := fill(keySize)
		p := producer.KeyPartition(k, partitions)
		s.keys[p] = append(s.keys[p], k)
	}
	return s
}

// record returns the key and value of partition p's i-th record. The
// slices are shared and must not be modified.
func (s *source) record(p, i int) (key, value []byte) {
	ks := s.keys[p]
	return ks[i%len(ks)], s.values[(i+p*7919)%len(s.values)]
}

// share splits n records over the partitions as evenly as possible.
func share(n, partitions, p int) int {
	q := n / partitions
	if p < n%partitions {
		q++
	}
	return q
}
