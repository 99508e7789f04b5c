package log

import (
	"encoding/binary"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Records decompresses the batch and appends its records to dst, with
// offsets and timestamps resolved. Keys, values and headers alias the
// batch's bytes (or its decompressed copy): they stay valid as long as the
// batch's bytes are not modified. Malformed records give ErrCorruptBatch.
func (b Batch) Records(dst []Record) ([]Record, error) {
	if len(b.raw) == 0 {
		return dst, nil
	}
	body, err := decompress(b.raw[HeaderSize:], b.Codec())
	if err != nil {
		return dst, err
	}
	start := len(dst)
	n := int(b.hdr.NumRecords)
	if n > len(body) { // every record takes at least one byte
		return dst[:start], corrupt("%d records in %d bytes", n, len(body))
	}
	var kr kmsg.Record
	prev := int32(-1)
	for i := 0; i < n; i++ {
		var rec []byte
		if rec, body, err = nextRecord(body); err != nil {
			return dst[:start], err
		}
		kr.Headers = kr.Headers[:0]
		if err := kr.UnsafeReadFrom(rec); err != nil {
			return dst[:start], corrupt("record %d: %v", i, err)
		}
		// Deltas rise; a cleaned batch may skip some (see Filter).
		if kr.OffsetDelta <= prev || kr.OffsetDelta > b.hdr.LastOffsetDelta {
			return dst[:start], corrupt("record %d has offset delta %d", i, kr.OffsetDelta)
		}
		prev = kr.OffsetDelta
		r := Record{
			Key:       kr.Key,
			Value:     kr.Value,
			Offset:    b.hdr.FirstOffset + int64(kr.OffsetDelta),
			Timestamp: b.recordTime(kr.TimestampDelta64),
		}
		if r.Headers, err = fromKmsgHeaders(kr.Headers); err != nil {
			return dst[:start], err
		}
		dst = append(dst, r)
	}
	if len(body) != 0 {
		return dst[:start], corrupt("%d bytes after the last record", len(body))
	}
	return dst, nil
}

// Validate checks that every record of the batch decodes and that offsets
// are dense, as a producer sends them (only a cleaner leaves gaps). It is
// what a broker runs on a batch it did not build.
func (b Batch) Validate() error {
	_, err := b.ValidRecords(make([]Record, 0, b.NumRecords()))
	return err
}

// ValidRecords is Records plus Validate's density check, for a caller that
// needs both the check and the records.
func (b Batch) ValidRecords(dst []Record) ([]Record, error) {
	if b.hdr.LastOffsetDelta != b.hdr.NumRecords-1 {
		return dst, corrupt("%d records with last offset delta %d", b.hdr.NumRecords, b.hdr.LastOffsetDelta)
	}
	return b.Records(dst)
}

func (b Batch) recordTime(delta int64) time.Time {
	if b.LogAppendTime() {
		return time.UnixMilli(b.hdr.MaxTimestamp)
	}
	return time.UnixMilli(b.hdr.FirstTimestamp + delta)
}

// nextRecord splits the first length-prefixed record off body.
func nextRecord(body []byte) (rec, rest []byte, err error) {
	l, n := binary.Varint(body)
	if n <= 0 || l < 0 || l > int64(len(body)-n) {
		return nil, nil, corrupt("bad record length")
	}
	end := n + int(l)
	return body[:end], body[end:], nil
}

func fromKmsgHeaders(hs []kmsg.Header) ([]Header, error) {
	if len(hs) == 0 {
		return nil, nil
	}
	out := make([]Header, len(hs))
	for i, h := range hs {
		out[i] = Header{Key: h.Key, Value: h.Value}
	}
	if err := validateHeaders(out); err != nil {
		return nil, err
	}
	return out, nil
}
