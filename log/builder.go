package log

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Builder encodes records one at a time into a RecordBatch v2, straight
// into one reused buffer: a writer that gathers records over time (a
// producer's partition) encodes them without first copying them into a
// []Record, and without allocating once its buffer has grown. The zero
// Builder is ready to use.
//
// A Builder checks each record as it is added, so the Batch that Finish
// returns is already validated: Batch.Validate does not decode it again.
type Builder struct {
	buf   []byte // header room, then the records section
	out   []byte // header and compressed records, reused by Finish
	n     int32
	first int64 // the first record's timestamp, ms
	maxTS int64
}

// Reset empties b, keeping its buffers.
func (b *Builder) Reset() {
	b.buf = b.buf[:0]
	b.n = 0
}

// Build resets b and encodes recs as one batch, as Encode does, reusing
// b's buffers: the batch is valid until b is used again.
func (b *Builder) Build(recs []Record, codec Codec, producer *Producer, now time.Time) (Batch, error) {
	b.Reset()
	if len(recs) == 0 {
		return Batch{}, ErrEmptyBatch
	}
	if !codec.Valid() {
		return Batch{}, ErrUnknownCodec
	}
	size := 0
	for i := range recs {
		size += len(recs[i].Key) + len(recs[i].Value) + 24
	}
	b.Grow(size)
	for i := range recs {
		if err := b.Add(&recs[i], now); err != nil {
			return Batch{}, err
		}
	}
	return b.Finish(codec, producer)
}

// Grow makes room for n more bytes of records without reallocating.
func (b *Builder) Grow(n int) {
	b.buf = slices.Grow(b.buf, n+HeaderSize)
}

// Cap returns the bytes b's buffers hold, for a caller that bounds what
// idle Builders keep.
func (b *Builder) Cap() int { return cap(b.buf) + cap(b.out) }

// Len returns how many records b holds.
func (b *Builder) Len() int { return int(b.n) }

// Size returns the batch's uncompressed size in bytes so far.
func (b *Builder) Size() int { return max(len(b.buf), HeaderSize) }

// Add appends r to the batch. A zero Timestamp is taken as now. Topic,
// Partition and Offset are ignored. On error (a bad header key) b is
// unchanged.
func (b *Builder) Add(r *Record, now time.Time) error {
	if r == nil {
		return corrupt("%w: nil record", ErrInvalidRecord)
	}
	if err := validateHeaders(r.Headers); err != nil {
		return err
	}
	t := r.Timestamp
	if t.IsZero() {
		t = now
	}
	if !InMilliRange(t) {
		// UnixMilli wrapped: the record was stored with another time.
		return corrupt("%w: timestamp %v outside int64 milliseconds", ErrInvalidRecord, t)
	}
	ts := t.UnixMilli()
	if b.n > 0 && (b.first < 0 && ts > math.MaxInt64+b.first || b.first > 0 && ts < math.MinInt64+b.first) {
		return corrupt("%w: timestamp %d too far from the batch's first %d", ErrInvalidRecord, ts, b.first)
	}
	if b.n == 0 {
		b.buf = append(b.buf[:0], make([]byte, HeaderSize)...)
		b.first, b.maxTS = ts, math.MinInt64
	}
	b.buf = appendRecord(b.buf, r, ts-b.first, b.n)
	b.maxTS = max(b.maxTS, ts)
	b.n++
	return nil
}

// Finish completes the batch with base offset 0, compressed with codec,
// for producer (nil for a batch without idempotence). The batch shares
// b's buffers: it stays valid until the next Add, Reset or Finish. b keeps
// its records, so Finish may be called again (with another codec, say).
func (b *Builder) Finish(codec Codec, producer *Producer) (Batch, error) {
	if b.n == 0 {
		return Batch{}, ErrEmptyBatch
	}
	if !codec.Valid() {
		return Batch{}, ErrUnknownCodec
	}
	pr := noProducer
	if producer != nil {
		pr = *producer
	}
	h := kmsg.RecordBatch{
		Magic:           2,
		Attributes:      int16(codec),
		LastOffsetDelta: b.n - 1,
		FirstTimestamp:  b.first,
		MaxTimestamp:    b.maxTS,
		ProducerID:      pr.ID,
		ProducerEpoch:   pr.Epoch,
		FirstSequence:   pr.Sequence,
		NumRecords:      b.n,
	}
	raw := b.buf
	if codec != None {
		var err error
		b.out = h.AppendTo(b.out[:0])
		if b.out, err = compress(b.out, b.buf[HeaderSize:], codec); err != nil {
			return Batch{}, err
		}
		raw = b.out
	} else {
		h.AppendTo(raw[:0]) // into the HeaderSize bytes Add left for it: no copy
	}
	binary.BigEndian.PutUint32(raw[offLength:], uint32(len(raw)-lengthOverhead))
	binary.BigEndian.PutUint32(raw[offCRC:], checksum(raw))
	h.Length = int32(len(raw) - lengthOverhead)
	h.CRC = int32(binary.BigEndian.Uint32(raw[offCRC:]))
	return Batch{raw: raw, hdr: h, checked: true}, nil
}

// appendRecord appends r's wire form (a length-prefixed Record of a
// RecordBatch v2) to dst. It writes what kmsg.Record.AppendTo writes (a
// test compares them) but computes the length first, so the record is
// written once, in place, with nothing allocated.
func appendRecord(dst []byte, r *Record, tsDelta int64, offsetDelta int32) []byte {
	size := 1 + varintLen(tsDelta) + varintLen(int64(offsetDelta)) +
		nullableLen(r.Key) + nullableLen(r.Value) + varintLen(int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		size += varintLen(int64(len(h.Key))) + len(h.Key) + nullableLen(h.Value)
	}
	dst = binary.AppendVarint(dst, int64(size))
	dst = append(dst, 0) // attributes
	dst = binary.AppendVarint(dst, tsDelta)
	dst = binary.AppendVarint(dst, int64(offsetDelta))
	dst = appendNullable(dst, r.Key)
	dst = appendNullable(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendNullable(dst, h.Value)
	}
	return dst
}

// appendNullable appends a varint length (-1 for nil) and the bytes.
func appendNullable(dst, v []byte) []byte {
	if v == nil {
		return append(dst, 1) // zigzag(-1)
	}
	dst = binary.AppendVarint(dst, int64(len(v)))
	return append(dst, v...)
}

func nullableLen(v []byte) int {
	if v == nil {
		return 1
	}
	return varintLen(int64(len(v))) + len(v)
}

// varintLen returns the size of v as a zigzag varint.
func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	return (bits.Len64(u|1) + 6) / 7
}

// InMilliRange reports whether t's milliseconds since 1970 fit an int64,
// as a record's timestamp is stored: t.UnixMilli of a time outside wraps.
func InMilliRange(t time.Time) bool {
	return !t.Before(minMilliTime) && !t.After(maxMilliTime)
}

var (
	minMilliTime = time.UnixMilli(math.MinInt64)
	maxMilliTime = time.UnixMilli(math.MaxInt64)
)
