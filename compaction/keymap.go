package compaction

import "hash/maphash"

// keyMap maps a 128-bit hash of each key to the offset of its latest
// record, as Kafka's cleaner maps an MD5 of the key: the memory per key is
// fixed whatever the key's length, and two keys collide with probability
// about n²/2¹²⁹, nil for any real n. Seeds are fresh per map.
type keyMap struct {
	s1, s2 maphash.Seed
	m      map[[2]uint64]int64
}

func newKeyMap() *keyMap {
	return &keyMap{s1: maphash.MakeSeed(), s2: maphash.MakeSeed(), m: map[[2]uint64]int64{}}
}

func (k *keyMap) hash(key []byte) [2]uint64 {
	return [2]uint64{maphash.Bytes(k.s1, key), maphash.Bytes(k.s2, key)}
}

func (k *keyMap) put(key []byte, off int64) { k.m[k.hash(key)] = off }

func (k *keyMap) get(key []byte) (int64, bool) {
	off, ok := k.m[k.hash(key)]
	return off, ok
}

func (k *keyMap) len() int { return len(k.m) }

// reset empties the map for the next pass with new seeds, keeping its
// memory.
func (k *keyMap) reset() {
	clear(k.m)
	k.s1, k.s2 = maphash.MakeSeed(), maphash.MakeSeed()
}
