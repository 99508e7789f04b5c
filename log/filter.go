package log

import (
	"encoding/binary"
	"math"
	"time"
)

// Filter returns the batch rewritten to hold only the records keep accepts,
// as Kafka's log cleaner does: the batch keeps its base offset, last offset
// delta, first timestamp, attributes and producer fields, and each kept
// record keeps its bytes (so its offset and timestamp), which leaves gaps
// in the offsets. The record count, length and CRC change, and so does a
// CreateTime batch's max timestamp: it becomes the kept records' largest,
// as Kafka rebuilds a cleaned batch from its retained records. Kept, a
// removed record's newer stamp held the batch, and every batch after it,
// from retention.ms. kept is the
// number of records kept; when it is zero, out is nil (the batch should go
// away) and when it equals NumRecords, out is b's own bytes. keep sees
// records as Records returns them; it must not retain them.
func (b Batch) Filter(keep func(*Record) bool) (out []byte, kept int, err error) {
	if len(b.raw) == 0 {
		return nil, 0, ErrEmptyBatch // the zero Batch, as Records reads it: no records
	}
	body, err := decompress(b.raw[HeaderSize:], b.Codec())
	if err != nil {
		return nil, 0, err
	}
	kept = 0
	var recs []byte // kept records, length-prefixed, verbatim
	it := b.records(body)
	var r Record
	maxTS := int64(math.MinInt64)
	for {
		raw, ok, err := it.next(&r)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			break
		}
		if keep(&r) {
			recs = append(recs, raw...)
			kept++
			maxTS = max(maxTS, r.Timestamp.UnixMilli())
		}
	}
	switch kept {
	case 0:
		return nil, 0, nil
	case b.NumRecords():
		return b.raw, kept, nil
	}
	if b.LogAppendTime() {
		maxTS = b.hdr.MaxTimestamp // the append time, which its records carry
	}
	return b.rebuild(recs, kept, maxTS)
}

// rebuild encodes a batch with b's header fields, but maxTS, around recs,
// the kept records' bytes.
func (b Batch) rebuild(recs []byte, n int, maxTS int64) ([]byte, int, error) {
	h := b.hdr
	h.NumRecords = int32(n)
	h.MaxTimestamp = maxTS
	h.Records = nil
	out := h.AppendTo(make([]byte, 0, HeaderSize+len(recs)))
	out = out[:HeaderSize]
	out, err := compress(out, recs, b.Codec())
	if err != nil {
		return nil, 0, err
	}
	binary.BigEndian.PutUint32(out[offLength:], uint32(len(out)-lengthOverhead))
	binary.BigEndian.PutUint32(out[offCRC:], checksum(out))
	return out, n, nil
}

// Rewrite is one step of a cleaning pass, applied atomically by a
// partition (one Pebble batch): whatever the step replaced is either all
// on disk after a crash or not at all, and each step leaves a valid log.
type Rewrite struct {
	// Batches replace stored batches, each under its unchanged last offset.
	Batches []Replace
	// Expired are tombstones the step removes (Key and Offset set): their
	// key index entries go too, unless a newer record of the key took
	// them over.
	Expired []Record
	// Records is how many records the step removes.
	Records int64
	// Done ends the pass: the partition's cleaner checkpoint moves to
	// CleanedTo, the first offset the pass did not read.
	Done      bool
	CleanedTo int64
	// At is when the pass ran and MarkAge its delete.retention.ms: with
	// Done, the partition keeps when its checkpoints moved, so that a
	// tombstone expires that long after it was first cleaned, whatever
	// timestamp its producer gave it.
	At      time.Time
	MarkAge time.Duration
}

// Replace is one stored batch rewritten: Batch is the new bytes (from
// Filter), or nil to delete the batch; Old is its previous size.
type Replace struct {
	Last  int64
	Old   int
	Batch []byte
	// MaxTimestamp is the batch's max timestamp (zero if unknown): a
	// partition uses it to drop the time index entry of a deleted batch.
	MaxTimestamp time.Time
}
