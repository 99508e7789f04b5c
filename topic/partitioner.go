package topic

import "math"

// KeyPartition returns the partition Kafka's default partitioner gives key
// among n partitions: the positive murmur2 hash mod n. It lives here, below
// the producer, so that the broker's Get finds a key's partition with the
// very function producers route it with. It returns -1, no partition,
// when n is not a partition count (below 1 or above MaxInt32).
func KeyPartition(key []byte, n int) int32 {
	if n < 1 || n > math.MaxInt32 {
		return -1 // no partition among n: n mod 2^32 divided by zero
	}
	return int32((uint32(Murmur2(key)) & 0x7fffffff) % uint32(n))
}

// Murmur2 is the 32-bit murmur2 hash as Kafka's Java client computes it
// (seed 0x9747b28c).
func Murmur2(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	h := uint32(seed) ^ uint32(len(data))
	for ; len(data) >= 4; data = data[4:] {
		k := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}
