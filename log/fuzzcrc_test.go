package log

import (
	"encoding/binary"
	"testing"
	"time"
)

// fixCRC rewrites the length field, magic and CRC so a fuzzed body reaches the decoder.
func fixCRC(raw []byte) []byte {
	if len(raw) < HeaderSize {
		return raw
	}
	raw = append([]byte(nil), raw...)
	raw[offMagic] = 2
	binary.BigEndian.PutUint32(raw[offLength:], uint32(len(raw)-lengthOverhead))
	binary.BigEndian.PutUint32(raw[offCRC:], checksum(raw))
	return raw
}

func FuzzParseCRC(f *testing.F) {
	for c := None; c <= Zstd; c++ {
		raw, err := Encode(nil, sampleRecords(4), c, nil, time.UnixMilli(1))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = fixCRC(raw)
		b, err := Parse(raw)
		if err != nil {
			return
		}
		valid := b.Validate() == nil
		recs, err := b.Records(nil)
		if valid && err != nil {
			t.Fatalf("Validate passed but Records failed: %v", err)
		}
		if err == nil && len(recs) != b.NumRecords() {
			t.Fatalf("decoded %d records, header says %d", len(recs), b.NumRecords())
		}
		if !valid || b.Codec() != None {
			return
		}
		// Re-encode and compare.
		var bl Builder
		for i := range recs {
			if err := bl.Add(&recs[i], time.Now()); err != nil {
				t.Fatalf("record %d decoded but the Builder refuses it: %v", i, err)
			}
		}
		nb, err := bl.Finish(None, nil)
		if err != nil {
			t.Fatal(err)
		}
		again, err := nb.Records(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			if string(again[i].Key) != string(recs[i].Key) || (again[i].Key == nil) != (recs[i].Key == nil) ||
				string(again[i].Value) != string(recs[i].Value) || (again[i].Value == nil) != (recs[i].Value == nil) ||
				len(again[i].Headers) != len(recs[i].Headers) {
				t.Fatalf("record %d differs after re-encoding", i)
			}
		}
	})
}
