package partition

import (
	"bytes"
	"testing"
)

// FuzzProducerState feeds stored producer-state values (any bytes: a
// corrupt or foreign value) to the decoder that Open runs: it must not
// panic, and whatever it accepts must encode back to the same bytes.
func FuzzProducerState(f *testing.F) {
	var s producerState
	s.epoch, s.lastUsed = 3, 1_700_000_000_000
	for i := range int32(maxCachedBatches + 1) {
		s.add(seqBatch{first: 10 * i, last: 10*i + 9, base: 100 * int64(i)})
		f.Add(s.encode(nil))
	}
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := decodeProducerState(b)
		if !ok {
			return
		}
		if s.n == 0 || int(s.n) > maxCachedBatches {
			t.Fatalf("decoded %d batches", s.n)
		}
		if int(b[10]) <= maxCachedBatches {
			if got := s.encode(nil); !bytes.Equal(got, b) {
				t.Fatalf("%x decodes to a state that encodes to %x", b, got)
			}
		}
	})
}
