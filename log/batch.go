package log

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Byte layout of a RecordBatch v2 header. The CRC covers everything from
// the attributes to the end, so base offset and leader epoch can be stamped
// without recomputing it.
const (
	HeaderSize = 61 // bytes before the first record

	offLength       = 8
	offMagic        = 16
	offCRC          = 17
	offAttributes   = 21
	offLastDelta    = 23
	offMaxTimestamp = 35
	lengthOverhead  = 12 // base offset + length field
	crcStart        = offAttributes

	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum returns the CRC32C of a batch's bytes from the attributes on.
func checksum(batch []byte) uint32 {
	return crc32.Checksum(batch[crcStart:], castagnoli)
}

// Producer identifies an idempotent producer's batch: its id, epoch and the
// sequence number of the batch's first record.
type Producer struct {
	ID       int64
	Epoch    int16
	Sequence int32
}

// noProducer marks a batch written without idempotence, as Kafka does.
var noProducer = Producer{ID: -1, Epoch: -1, Sequence: -1}

// Batch is a validated RecordBatch v2 in its wire and storage form. The
// zero Batch is empty and reports no records.
type Batch struct {
	raw []byte
	hdr kmsg.RecordBatch
	// checked is set for a batch a Builder made from records it checked:
	// Validate has nothing left to check.
	checked bool
}

// Encode appends to dst a RecordBatch v2 holding recs with base offset 0,
// compressed with codec. Records with a zero Timestamp get now. A nil
// producer writes a non-idempotent batch.
func Encode(dst []byte, recs []Record, codec Codec, producer *Producer, now time.Time) ([]byte, error) {
	b, err := Build(recs, codec, producer, now)
	if err != nil {
		return nil, err
	}
	if len(dst) == 0 {
		return b.raw, nil
	}
	return append(dst, b.raw...), nil
}

// Build is Encode returning the batch itself, already checked (see
// Builder), for a caller that appends it to a partition.
func Build(recs []Record, codec Codec, producer *Producer, now time.Time) (Batch, error) {
	var b Builder
	return b.Build(recs, codec, producer, now)
}

// Parse validates the header and CRC of the single batch that fills raw and
// returns a view of it. It does not decompress the records; Records and
// Validate do.
func Parse(raw []byte) (Batch, error) {
	if len(raw) < HeaderSize {
		return Batch{}, corrupt("%d bytes is shorter than a batch header", len(raw))
	}
	if raw[offMagic] != 2 {
		return Batch{}, ErrUnsupportedMagic
	}
	var b Batch
	// kmsg reads Length bytes and ignores any after them; the CRC covers
	// them but not the length field, so a short length must fail here.
	if err := b.hdr.UnsafeReadFrom(raw); err != nil || int(b.hdr.Length) != len(raw)-lengthOverhead {
		return Batch{}, corrupt("length field %d does not match %d bytes",
			int32(binary.BigEndian.Uint32(raw[offLength:])), len(raw))
	}
	if got := checksum(raw); got != uint32(b.hdr.CRC) {
		return Batch{}, corrupt("crc %08x, want %08x", got, uint32(b.hdr.CRC))
	}
	// A cleaned batch keeps its offset range but may hold fewer records
	// (gaps), so the count may be below the last offset delta plus one.
	if b.hdr.NumRecords <= 0 || b.hdr.LastOffsetDelta < b.hdr.NumRecords-1 {
		return Batch{}, corrupt("%d records with last offset delta %d",
			b.hdr.NumRecords, b.hdr.LastOffsetDelta)
	}
	if !b.Codec().Valid() {
		return Batch{}, ErrUnknownCodec
	}
	b.raw = raw
	return b, nil
}

// Bytes returns the batch in wire form. The slice is shared, not copied.
func (b Batch) Bytes() []byte { return b.raw }

// Len returns the batch's size in bytes.
func (b Batch) Len() int { return len(b.raw) }

// BaseOffset returns the offset of the batch's first record.
func (b Batch) BaseOffset() int64 { return b.hdr.FirstOffset }

// LastOffset returns the offset of the batch's last record.
func (b Batch) LastOffset() int64 { return b.hdr.FirstOffset + int64(b.hdr.LastOffsetDelta) }

// NumRecords returns how many records the batch holds.
func (b Batch) NumRecords() int { return int(b.hdr.NumRecords) }

// Codec returns the batch's compression codec.
func (b Batch) Codec() Codec { return Codec(b.hdr.Attributes & attrCodecMask) }

// MaxTimestamp returns the batch's largest record timestamp, or its log
// append time.
func (b Batch) MaxTimestamp() time.Time { return time.UnixMilli(b.hdr.MaxTimestamp) }

// LogAppendTime reports whether record timestamps are the log append time.
func (b Batch) LogAppendTime() bool { return b.hdr.Attributes&attrLogAppendTime != 0 }

// Producer returns the batch's producer id, epoch and base sequence; the
// id is -1 for batches written without idempotence.
func (b Batch) Producer() Producer {
	return Producer{ID: b.hdr.ProducerID, Epoch: b.hdr.ProducerEpoch, Sequence: b.hdr.FirstSequence}
}

// Transactional reports whether the batch belongs to a transaction.
func (b Batch) Transactional() bool { return b.hdr.Attributes&attrTransactional != 0 }

// Control reports whether the batch is a transaction control batch.
func (b Batch) Control() bool { return b.hdr.Attributes&attrControl != 0 }

// SetBaseOffset stamps the batch's base offset in place. The CRC does not
// cover it.
func (b *Batch) SetBaseOffset(off int64) {
	if len(b.raw) < HeaderSize {
		return // the zero Batch: no header to stamp
	}
	binary.BigEndian.PutUint64(b.raw, uint64(off))
	b.hdr.FirstOffset = off
}

// SetLogAppendTime marks the batch's timestamps as the log append time t,
// in place, and recomputes the CRC, as a Kafka broker does for topics with
// message.timestamp.type=LogAppendTime.
func (b *Batch) SetLogAppendTime(t time.Time) {
	if len(b.raw) < HeaderSize {
		return // the zero Batch: no header to stamp
	}
	b.hdr.Attributes |= attrLogAppendTime
	b.hdr.MaxTimestamp = t.UnixMilli()
	b.rewriteTimes()
}

// rewriteTimes writes the header's attributes and max timestamp into the
// raw bytes and recomputes the CRC, which covers both: the one way a
// broker changes a stored batch's header besides its base offset.
func (b *Batch) rewriteTimes() {
	binary.BigEndian.PutUint16(b.raw[offAttributes:], uint16(b.hdr.Attributes))
	binary.BigEndian.PutUint64(b.raw[offMaxTimestamp:], uint64(b.hdr.MaxTimestamp))
	crc := checksum(b.raw)
	binary.BigEndian.PutUint32(b.raw[offCRC:], crc)
	b.hdr.CRC = int32(crc)
}

// CopyTo copies the batch into dst, which must be Len() bytes, and returns
// the copy. It lets a caller stamp a batch in a buffer it owns (a Pebble
// batch, say) without touching the original.
func (b Batch) CopyTo(dst []byte) Batch {
	copy(dst, b.raw)
	return Batch{raw: dst[:len(b.raw)], hdr: b.hdr, checked: b.checked}
}

// SetCreateTime clears the log append time mark of a batch that carries
// it, in place: its max timestamp becomes its records' largest create
// time and the CRC is recomputed, as a Kafka broker rewrites a client's
// batch for a topic with message.timestamp.type=CreateTime. The records
// must be dense, as Validate requires.
func (b *Batch) SetCreateTime() error {
	if !b.LogAppendTime() {
		return nil
	}
	body, err := decompress(b.raw[HeaderSize:], b.Codec())
	if err != nil {
		return err
	}
	maxDelta, err := checkRecords(body, int(b.hdr.NumRecords))
	if err != nil {
		return err
	}
	first := b.hdr.FirstTimestamp
	if maxDelta > 0 && first > math.MaxInt64-maxDelta || maxDelta < 0 && first < math.MinInt64-maxDelta {
		return corrupt("first timestamp %d with delta %d overflows", first, maxDelta)
	}
	b.hdr.Attributes &^= attrLogAppendTime
	b.hdr.MaxTimestamp = first + maxDelta
	b.rewriteTimes()
	return nil
}
