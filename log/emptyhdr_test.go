package log

import (
	"testing"
	"time"
)

// An empty header key is valid (as in Kafka); so is an empty or null
// value. Such a header takes 2 bytes, below minHeaderSize (3), so a
// record carrying one was refused by Validate and by Records.
func TestEmptyHeaderKeyEmptyValueRoundTrip(t *testing.T) {
	for _, hs := range [][]Header{
		{{Key: "", Value: nil}},
		{{Key: "", Value: []byte{}}},
		{{Key: "", Value: nil}, {Key: "", Value: nil}, {Key: "", Value: nil}},
	} {
		var bl Builder
		b, err := bl.Build([]Record{{Value: []byte("v"), Headers: hs}}, None, nil, time.Now())
		if err != nil {
			t.Fatalf("build %v: %v", hs, err)
		}
		p, err := Parse(append([]byte(nil), b.Bytes()...))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("Validate of a record with headers %v: %v", hs, err)
		}
		recs, err := b.Records(nil)
		if err != nil {
			t.Errorf("Records of a record with headers %v: %v", hs, err)
		} else if len(recs[0].Headers) != len(hs) {
			t.Errorf("got %d headers", len(recs[0].Headers))
		}
	}
}
