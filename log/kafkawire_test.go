package log

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// wireBatch wraps a records section (compressed with codec) of n dense
// records in a batch header with a valid length and CRC.
func wireBatch(codec Codec, n int, maxTS int64, body []byte) []byte {
	h := kmsg.RecordBatch{Magic: 2, Attributes: int16(codec), LastOffsetDelta: int32(n - 1), FirstTimestamp: 1000,
		MaxTimestamp: maxTS, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n)}
	raw := append(h.AppendTo(nil)[:HeaderSize], body...)
	binary.BigEndian.PutUint32(raw[offLength:], uint32(len(raw)-lengthOverhead))
	binary.BigEndian.PutUint32(raw[offCRC:], checksum(raw))
	return raw
}

// Kafka reads a record's lengths, offset delta and header count as int32
// varints of at most 5 bytes (ByteUtils.readVarint throws past that, and
// DefaultRecord.readFrom turns it into InvalidRecordException): a longer,
// overlong encoding is a batch the broker refuses and no Java consumer
// can read, so Cairn must not store it.
func TestOverlongVarintRefused(t *testing.T) {
	overlong := func(v int64, n int) []byte { // zigzag v in n bytes
		u := uint64(v<<1) ^ uint64(v>>63)
		out := make([]byte, n)
		for i := range n - 1 {
			out[i] = byte(u&0x7f) | 0x80
			u >>= 7
		}
		out[n-1] = byte(u)
		return out
	}
	for _, tc := range []struct {
		name string
		rec  func(n int) []byte
	}{
		{"key length", func(n int) []byte {
			r := append([]byte{0, 0, 0}, overlong(1, n)...)
			return append(r, 'k', 1, 0)
		}},
		{"offset delta", func(n int) []byte {
			r := append([]byte{0, 0}, overlong(0, n)...)
			return append(r, 1, 1, 0)
		}},
		{"header count", func(n int) []byte {
			return append([]byte{0, 0, 0, 1, 1}, overlong(0, n)...)
		}},
		{"header key length", func(n int) []byte {
			r := append([]byte{0, 0, 0, 1, 1, 2}, overlong(1, n)...)
			return append(r, 'h', 1)
		}},
	} {
		for _, n := range []int{5, 6, 10} {
			rec := tc.rec(n)
			section := append(binary.AppendVarint(nil, int64(len(rec))), rec...)
			b, err := Parse(wireBatch(None, 1, 1000, section))
			if err != nil {
				t.Fatal(err)
			}
			verr := b.Validate()
			_, rerr := b.Records(nil)
			if n <= 5 && (verr != nil || rerr != nil) {
				t.Errorf("%s in %d bytes (Kafka reads it): Validate %v, Records %v", tc.name, n, verr, rerr)
			}
			if n > 5 && (verr == nil || rerr == nil) {
				t.Errorf("%s in %d bytes (Kafka refuses it): Validate %v, Records %v", tc.name, n, verr, rerr)
			}
		}
	}
}

// Kafka's LZ4 codec (Lz4BlockInputStream) reads one LZ4 frame with the
// frame magic and independent blocks, and nothing after its end mark:
// a legacy frame, a skippable frame, a dependent-block frame or records
// split over two frames is refused by a Kafka broker and by every Java
// consumer, yet the pierrec reader decodes all of them.
func TestLZ4OnlyKafkaFrames(t *testing.T) {
	plain, err := Encode(nil, sampleRecords(4), None, nil, time.UnixMilli(1000))
	if err != nil {
		t.Fatal(err)
	}
	sec := plain[HeaderSize:]
	pb, err := Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	maxTS := pb.MaxTimestamp().UnixMilli()

	var legacy bytes.Buffer
	w := lz4.NewWriter(&legacy)
	if err := w.Apply(lz4.LegacyOption(true)); err != nil {
		t.Fatal(err)
	}
	w.Write(sec)
	w.Close()
	half := len(sec) / 2
	two, _ := compress(nil, sec[:half], LZ4)
	two, _ = compress(two, sec[half:], LZ4)
	skip, _ := compress([]byte{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4}, sec, LZ4)
	good, _ := compress(nil, sec, LZ4)
	dependent := append([]byte(nil), good...)
	dependent[4] &^= 0x20 // FLG without block independence
	dependent[6] = lz4HC(dependent[4:6])

	for name, body := range map[string][]byte{"legacy frame": legacy.Bytes(), "two frames": two,
		"skippable frame first": skip, "dependent blocks": dependent} {
		b, err := Parse(wireBatch(LZ4, 4, maxTS, body))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Validate(); err == nil {
			t.Errorf("%s: Validate accepted a batch Kafka refuses", name)
		}
		if _, err := b.Records(nil); err == nil {
			t.Errorf("%s: Records accepted a batch Kafka refuses", name)
		}
	}
	// Kafka stops at the end mark: bytes after it are not read.
	b, err := Parse(wireBatch(LZ4, 4, maxTS, append(append([]byte(nil), good...), 0xde, 0xad)))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Errorf("one frame and trailing bytes: %v", err)
	}
	b, _ = Parse(wireBatch(LZ4, 4, maxTS, good))
	if recs, err := b.ValidRecords(nil); err != nil || len(recs) != 4 {
		t.Errorf("a Builder's LZ4 body: %d records, %v", len(recs), err)
	}
}

// lz4HC is the frame descriptor checksum byte of the descriptor d.
func lz4HC(d []byte) byte { return byte(xxh32(d) >> 8) }

// xxh32 is XXH32 with seed 0 of an input shorter than 16 bytes.
func xxh32(b []byte) uint32 {
	const p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
	rol := func(u uint32, r uint) uint32 { return u<<r | u>>(32-r) }
	h := uint32(p5) + uint32(len(b))
	for ; len(b) >= 4; b = b[4:] {
		h += binary.LittleEndian.Uint32(b) * p3
		h = rol(h, 17) * p4
	}
	for _, c := range b {
		h += uint32(c) * p5
		h = rol(h, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	return h ^ h>>16
}

func TestXXH32HelperMatchesLZ4(t *testing.T) {
	good, _ := compress(nil, []byte("hello"), LZ4)
	if lz4HC(good[4:6]) != good[6] {
		t.Fatalf("descriptor checksum %02x, frame has %02x", lz4HC(good[4:6]), good[6])
	}
}
