package log

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// hostileBatch returns a well-formed batch header (valid CRC and length)
// claiming n records over a zstd body of size zero bytes: a few hundred
// bytes on the wire.
func hostileBatch(t *testing.T, size, n int) []byte {
	t.Helper()
	return hostileBody(t, make([]byte, size), n)
}

// recordsAlloc runs Records on raw and returns its error and the bytes it
// allocated.
func recordsAlloc(t *testing.T, raw []byte) (uint64, error) {
	t.Helper()
	b, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = b.Records(nil)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// TestRecordsHostileCountAllocation: Records on a small hostile batch must
// fail without allocating room for millions of records first.
func TestRecordsHostileCountAllocation(t *testing.T) {
	const size = 8 << 20                      // 8 MB of zeros
	for _, n := range []int{size, size / 7} { // a record per byte, a record per 7 bytes
		raw := hostileBatch(t, size, n)
		alloc, err := recordsAlloc(t, raw)
		if err == nil {
			t.Fatal("hostile batch decoded")
		}
		t.Logf("%d-byte batch claiming %d records: Records allocated %d MB before failing (%v)", len(raw), n, alloc>>20, err)
		if alloc > 64<<20 {
			t.Fatalf("a %d-byte batch made Records allocate %d MB", len(raw), alloc>>20)
		}
	}
}

// hostileBody returns a batch claiming n records over section (its
// records section), compressed with zstd, with a valid length and CRC.
func hostileBody(t *testing.T, section []byte, n int) []byte {
	t.Helper()
	body, err := compress(nil, section, Zstd)
	if err != nil {
		t.Fatal(err)
	}
	h := kmsg.RecordBatch{Magic: 2, Attributes: int16(Zstd), LastOffsetDelta: int32(n - 1),
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n)}
	raw := append(h.AppendTo(nil)[:HeaderSize], body...)
	binary.BigEndian.PutUint32(raw[offLength:], uint32(len(raw)-lengthOverhead))
	binary.BigEndian.PutUint32(raw[offCRC:], checksum(raw))
	return raw
}

// TestRecordsHostileHeaderCountAllocation: one record claiming millions of
// headers over zero bytes must fail without allocating them all first.
func TestRecordsHostileHeaderCountAllocation(t *testing.T) {
	const m = 8 << 20
	rec := []byte{0, 0, 0, 1, 1} // attributes, ts delta, offset delta, null key, null value
	rec = binary.AppendVarint(rec, m)
	rec = append(rec, make([]byte, m)...)
	section := binary.AppendVarint(nil, int64(len(rec)))
	section = append(section, rec...)
	raw := hostileBody(t, section, 1)
	alloc, err := recordsAlloc(t, raw)
	if err == nil {
		t.Fatal("hostile batch decoded")
	}
	t.Logf("%d-byte batch: Records allocated %d MB before failing (%v)", len(raw), alloc>>20, err)
	if alloc > 64<<20 {
		t.Fatalf("a %d-byte batch made Records allocate %d MB", len(raw), alloc>>20)
	}
}

// kafkaClientBatch encodes recs as a Kafka client does (kmsg, as
// franz-go), uncompressed.
func kafkaClientBatch(t *testing.T, recs []Record) []byte {
	t.Helper()
	var section []byte
	for i := range recs {
		section = append(section, kmsgRecord(&recs[i], 0, int32(i))...)
	}
	h := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: 1_700_000_000_000,
		MaxTimestamp: 1_700_000_000_000, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(recs))}
	raw := append(h.AppendTo(nil)[:HeaderSize], section...)
	binary.BigEndian.PutUint32(raw[offLength:], uint32(len(raw)-lengthOverhead))
	binary.BigEndian.PutUint32(raw[offCRC:], checksum(raw))
	return raw
}

// TestEmptyHeaderKeyFromKafkaClient: Kafka's record format allows a
// header key of length 0 (only a null key, length -1, is invalid:
// DefaultRecord.readHeaders throws on a negative key size only), and the
// Java client's RecordHeader accepts "". A broker must store such a
// batch; here the whole batch is refused as corrupt.
func TestEmptyHeaderKeyFromKafkaClient(t *testing.T) {
	raw := kafkaClientBatch(t, []Record{{Key: []byte("k"), Value: []byte("v"),
		Headers: []Header{{Key: "", Value: []byte("trace")}}}})
	b, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatalf("a Kafka client's batch with an empty header key refused: %v", err)
	}
	recs, err := b.Records(nil)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	if len(recs[0].Headers) != 1 || recs[0].Headers[0].Key != "" || string(recs[0].Headers[0].Value) != "trace" {
		t.Fatalf("headers read back as %+v", recs[0].Headers)
	}
}

// TestNullHeaderKeyRefused: a null header key (length -1) stays invalid.
func TestNullHeaderKeyRefused(t *testing.T) {
	rec := []byte{0, 0, 0, 1, 1, 2, 1, 1} // attrs, ts, od, null key, null value, 1 header: null key, null value
	section := append(binary.AppendVarint(nil, int64(len(rec))), rec...)
	h := kmsg.RecordBatch{Magic: 2, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: 1}
	raw := append(h.AppendTo(nil)[:HeaderSize], section...)
	binary.BigEndian.PutUint32(raw[offLength:], uint32(len(raw)-lengthOverhead))
	binary.BigEndian.PutUint32(raw[offCRC:], checksum(raw))
	b, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.Validate() == nil {
		t.Fatal("null header key accepted by Validate")
	}
	if _, err := b.Records(nil); err == nil {
		t.Fatal("null header key accepted by Records")
	}
}
