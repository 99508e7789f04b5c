package group

import (
	"testing"
	"time"
)

// FuzzOffsetRecord feeds stored committed-offset keys and values (any
// bytes: corrupt or foreign) to the decoders the coordinator runs when it
// opens: they must not panic, and what encodes must decode to itself.
func FuzzOffsetRecord(f *testing.F) {
	f.Add("g", "t", int32(3), int64(42), "meta", []byte{prefixOffsets, 0, 1, 'g'}, []byte{1, 2})
	f.Add("", "", int32(-1), int64(-1), "", []byte{prefixOffsets, 0xff, 0xff}, make([]byte, 16))
	f.Fuzz(func(t *testing.T, g, topic string, p int32, off int64, meta string, k, v []byte) {
		decodeOffsetKey(k)
		decodeCommitted(v)
		if len(g) > 0xffff || len(topic) > 0xffff {
			return // group ids and topic names are far shorter (validated)
		}
		tp := TopicPartition{topic, p}
		gotG, gotTP, ok := decodeOffsetKey(offsetKey(g, tp))
		if !ok || gotG != g || gotTP != tp {
			t.Fatalf("key of %q %v decodes to %q %v (%v)", g, tp, gotG, gotTP, ok)
		}
		c := Committed{Offset: off, Time: time.UnixMilli(1_700_000_000_000), Metadata: meta}
		got, ok := decodeCommitted(encodeCommitted(c))
		if !ok || got.Offset != c.Offset || !got.Time.Equal(c.Time) || got.Metadata != c.Metadata {
			t.Fatalf("%+v decodes to %+v (%v)", c, got, ok)
		}
	})
}
