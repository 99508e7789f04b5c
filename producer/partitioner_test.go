package producer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Vectors from Kafka's Java Utils.murmur2, as used by its default
// partitioner.
func TestMurmur2Vectors(t *testing.T) {
	for key, want := range map[string]int32{
		"1":     -1993445489,
		"12":    126087238,
		"123":   -267702483,
		"1234":  -1614185708,
		"12345": -1188365604,
	} {
		require.Equal(t, want, Murmur2([]byte(key)), key)
	}
}

func TestKeyPartition(t *testing.T) {
	// (murmur2 & 0x7fffffff) % n, computed from the vectors above.
	require.Equal(t, int32((uint32(0x100000000-1993445489)&0x7fffffff)%7), KeyPartition([]byte("1"), 7))
	require.Equal(t, int32(126087238%10), KeyPartition([]byte("12"), 10))
	for n := 1; n < 50; n++ {
		p := KeyPartition([]byte("order-17"), n)
		require.True(t, p >= 0 && int(p) < n)
		require.Equal(t, p, Default().Partition(&Record{Key: []byte("order-17")}, n), "default partitioner keys by murmur2")
	}
	// An empty key is a key, not a nil key.
	require.Equal(t, KeyPartition([]byte{}, 12), Default().Partition(&Record{Key: []byte{}}, 12))
}

func TestStickyAndRoundRobin(t *testing.T) {
	d := Default()
	first := d.Partition(&Record{Topic: "t"}, 8)
	for i := 0; i < 10; i++ {
		require.Equal(t, first, d.Partition(&Record{Topic: "t"}, 8), "sticks until a new batch")
	}
	seen := map[int32]bool{}
	for i := 0; i < 200; i++ {
		p := d.Partition(&Record{Topic: "t"}, 8)
		seen[p] = true
		d.(BatchObserver).NewBatch("t", p)
	}
	require.Greater(t, len(seen), 4, "moves on after each batch")

	rr := RoundRobin()
	for i := 0; i < 9; i++ {
		require.Equal(t, int32(i%3), rr.Partition(&Record{}, 3))
	}
	require.Equal(t, int32(5), Manual().Partition(&Record{Partition: 5}, 2))
}
