package log

import (
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to the batch decoder: Parse, Records and
// Validate must return an error or records, never panic, and Validate's
// fast check must agree with the full decoder. Seeds live in
// testdata/fuzz/FuzzParse, one per codec.
func FuzzParse(f *testing.F) {
	for c := None; c <= Zstd; c++ {
		raw, err := Encode(nil, sampleRecords(4), c, nil, time.UnixMilli(1))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := Parse(raw)
		if err != nil {
			return
		}
		valid := b.Validate() == nil
		if _, err := b.ValidRecords(nil); valid != (err == nil) {
			t.Fatalf("Validate (valid %v) and the full decoder (%v) disagree", valid, err)
		}
		recs, err := b.Records(nil)
		if err != nil {
			if valid {
				t.Fatalf("Validate passed but Records failed: %v", err)
			}
			return
		}
		if len(recs) != b.NumRecords() {
			t.Fatalf("decoded %d records, header says %d", len(recs), b.NumRecords())
		}
	})
}
