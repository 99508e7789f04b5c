package producer

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/cairnlog/cairn/topic"
)

// Partitioner picks a record's partition among n (n >= 1).
type Partitioner interface {
	Partition(rec *Record, n int) int32
}

// BatchObserver is implemented by partitioners that need to know when a
// new batch starts in a partition, as Kafka's sticky partitioner does:
// NewBatch is called when a partition's batch is closed to be sent, so
// the records after it start a new one.
type BatchObserver interface {
	NewBatch(topic string, partition int32)
}

// PartitionerFunc adapts a function to a Partitioner. It must return a
// value in [0, n); others fail the record with ErrUnknownPartition.
type PartitionerFunc func(rec *Record, n int) int32

// Partition calls f.
func (f PartitionerFunc) Partition(rec *Record, n int) int32 { return f(rec, n) }

// Manual returns a partitioner that uses each record's Partition field.
func Manual() Partitioner {
	return PartitionerFunc(func(rec *Record, _ int) int32 { return rec.Partition })
}

// RoundRobin returns a partitioner that spreads each topic's records over
// its partitions in turn, ignoring keys.
func RoundRobin() Partitioner {
	// A counter per topic, as Kafka's RoundRobinPartitioner: with one
	// shared counter, records alternating between two topics of two
	// partitions each all went to one partition of each.
	var counters sync.Map // topic -> *atomic.Uint32
	return PartitionerFunc(func(rec *Record, n int) int32 {
		if n < 1 || n > math.MaxInt32 {
			return -1 // no partition: the record fails with ErrUnknownPartition
		}
		c, ok := counters.Load(rec.Topic)
		if !ok {
			c, _ = counters.LoadOrStore(rec.Topic, new(atomic.Uint32))
		}
		return int32((c.(*atomic.Uint32).Add(1) - 1) % uint32(n))
	})
}

// Default returns Kafka's default partitioner: records with a key go to
// murmur2(key) mod n, the partition a Java, franz-go or librdkafka
// (murmur2_random) producer picks; records without a key stick to one
// partition until its batch is sent, then move to another (KIP-480).
func Default() Partitioner { return &sticky{parts: map[string]int32{}, prev: map[string]int32{}} }

type sticky struct {
	mu    sync.Mutex
	parts map[string]int32 // topic -> current sticky partition
	prev  map[string]int32 // topic -> the sticky partition before it
}

func (s *sticky) Partition(rec *Record, n int) int32 {
	if n < 1 || n > math.MaxInt32 {
		return -1 // no partition: the record fails with ErrUnknownPartition
	}
	if rec.Key != nil {
		return KeyPartition(rec.Key, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.parts[rec.Topic]
	if !ok || int(p) >= n {
		p = rand.Int32N(int32(n))
		if prev, had := s.prev[rec.Topic]; had && n > 1 && p == prev {
			// Another partition than the one just left, as Kafka's.
			p = (p + 1 + rand.Int32N(int32(n-1))) % int32(n)
		}
		s.parts[rec.Topic] = p
	}
	return p
}

// NewBatch moves the topic's sticky partition elsewhere once the current
// one's batch is closed (sent), so keyless records fill batches in turn.
func (s *sticky) NewBatch(topic string, partition int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.parts[topic]; ok && cur == partition {
		delete(s.parts, topic)
		s.prev[topic] = partition
	}
}

// KeyPartition returns the partition Kafka's default partitioner gives key
// among n partitions: the positive murmur2 hash mod n; -1 when n is not a
// partition count (below 1 or above MaxInt32).
func KeyPartition(key []byte, n int) int32 { return topic.KeyPartition(key, n) }

// Murmur2 is the 32-bit murmur2 hash as Kafka's Java client computes it
// (seed 0x9747b28c), the basis of key partitioning.
func Murmur2(data []byte) int32 { return topic.Murmur2(data) }
