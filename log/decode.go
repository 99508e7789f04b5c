package log

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync"
	"time"
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
	start, n := len(dst), int(b.hdr.NumRecords)
	if n > len(body)/minRecordSize {
		return dst, corrupt("%d records in %d bytes", n, len(body))
	}
	// Decode in place into room made up front: next writes each Record
	// whole, so the room needs no zeroing first (zeroing a struct of
	// pointers costs write barriers while the GC runs). The room made
	// before any record decoded is bounded: the count is the batch's
	// claim, and a small compressed batch may claim millions of records
	// it does not hold; past it, the room doubles as records decode.
	dst = slices.Grow(dst, min(n, maxRecordsUpfront))
	it := b.records(body)
	for i := start; it.more(); i++ {
		if i == cap(dst) {
			dst = slices.Grow(dst, min(start+n-i, max(i-start, 1)))
		}
		dst = dst[:i+1]
		if _, _, err := it.next(&dst[i]); err != nil {
			clear(dst[start:])
			return dst[:start], err
		}
	}
	if _, _, err := it.next(nil); err != nil { // trailing bytes
		clear(dst[start:])
		return dst[:start], err
	}
	return dst, nil
}

// minRecordSize is the smallest encoded record: a length, attributes,
// timestamp delta, offset delta, key and value lengths and a header
// count, one byte each at least.
const minRecordSize = 7

// minHeaderSize is the smallest encoded header: a key length and a value
// length (a key may be empty, as in Kafka).
const minHeaderSize = 2

// maxRecordsUpfront bounds the records Records makes room for before
// decoding any.
const maxRecordsUpfront = 4096

// more reports whether records remain.
func (it *recordIter) more() bool { return it.i < int(it.b.hdr.NumRecords) }

// recordIter walks a batch's decompressed records section. It is a
// concrete iterator rather than a callback so the decoded record stays on
// the caller's stack (a callback made every record escape to the heap).
type recordIter struct {
	b          *Batch
	body       []byte
	i          int
	prev       int32
	appendTime bool
}

func (b *Batch) records(body []byte) recordIter {
	return recordIter{b: b, body: body, prev: -1, appendTime: b.LogAppendTime()}
}

// next decodes the next record into r, with offset and timestamp resolved,
// and returns its bytes (length prefix included); ok is false at the end.
func (it *recordIter) next(r *Record) (raw []byte, ok bool, err error) {
	h := &it.b.hdr
	if it.i == int(h.NumRecords) {
		if len(it.body) != 0 {
			return nil, false, corrupt("%d bytes after the last record", len(it.body))
		}
		return nil, false, nil
	}
	if it.i == 0 && int(h.NumRecords) > len(it.body)/minRecordSize {
		return nil, false, corrupt("%d records in %d bytes", h.NumRecords, len(it.body))
	}
	rec, body, rest, err := nextRecord(it.body)
	if err != nil {
		return nil, false, err
	}
	it.body = rest
	var f recordFields
	if err := decodeRecord(body, &f); err != nil {
		return nil, false, corrupt("record %d: %v", it.i, err)
	}
	// Deltas rise; a cleaned batch may skip some (see Filter).
	if f.offsetDelta <= it.prev || f.offsetDelta > h.LastOffsetDelta {
		return nil, false, corrupt("record %d has offset delta %d", it.i, f.offsetDelta)
	}
	it.prev, it.i = f.offsetDelta, it.i+1
	ms := h.FirstTimestamp + f.tsDelta
	if it.appendTime {
		ms = h.MaxTimestamp
	}
	if r != nil {
		// Field by field, not *r = Record{...}: a composite literal is
		// built on the stack and copied in with a bulk write barrier
		// while the GC marks, which a consumer decoding millions of
		// records a second pays often.
		r.Topic, r.Partition = "", 0
		r.Key, r.Value, r.Headers = f.key, f.value, f.headers
		r.Offset = h.FirstOffset + int64(f.offsetDelta)
		r.Timestamp = time.UnixMilli(ms)
	}
	return rec, true, nil
}

// Validate checks that every record of the batch decodes, that offsets
// are dense, as a producer sends them (only a cleaner leaves gaps), and
// that the header's max timestamp is not below its records' (retention
// and the time index go by the header: a batch of today's records whose
// header said 1970 was deleted by the next retention pass). It is
// what a broker runs on a batch it did not build; for a batch from a
// Builder, which checked each record as it was added, it returns nil at
// once.
func (b Batch) Validate() error {
	_, _, err := b.validate()
	return err
}

// Normalize is Validate for a batch a broker stores: a CreateTime batch
// whose header claims a max timestamp above its records' comes back as a
// copy with the records' largest in its place (and a new CRC), as Kafka's
// broker rewrites it; b is not modified. Retention and the time index go
// by the header, so a batch of today's records claiming next century
// would keep itself, and every batch after it, from retention.ms.
func (b Batch) Normalize() (Batch, error) {
	maxTS, known, err := b.validate()
	if err != nil || !known || maxTS >= b.hdr.MaxTimestamp {
		return b, err
	}
	out := b.CopyTo(make([]byte, len(b.raw)))
	out.hdr.MaxTimestamp = maxTS
	out.rewriteTimes()
	return out, nil
}

// validate is Validate returning the records' largest timestamp; known
// is false when it did not decode them (a checked batch) or they carry
// the log append time. A flag, not a sentinel: MinInt64 is a timestamp
// a client may send.
func (b Batch) validate() (maxTS int64, known bool, err error) {
	const unknown = math.MinInt64
	if b.checked {
		return unknown, false, nil
	}
	// As Kafka's validator for client batches: control batches (markers
	// of the transaction coordinator) do not come from clients, and a
	// transactional batch needs a producer id.
	if b.Control() {
		return unknown, false, corrupt("%w: control batch", ErrInvalidRecord)
	}
	if b.Transactional() && b.hdr.ProducerID < 0 {
		return unknown, false, corrupt("%w: transactional batch without a producer id", ErrInvalidRecord)
	}
	if b.hdr.LastOffsetDelta != b.hdr.NumRecords-1 {
		return unknown, false, corrupt("%d records with last offset delta %d", b.hdr.NumRecords, b.hdr.LastOffsetDelta)
	}
	if len(b.raw) == 0 {
		return unknown, false, nil
	}
	body := b.raw[HeaderSize:]
	if c := b.Codec(); c != None {
		// Nothing of the decompressed body outlives Validate, so it goes
		// into a pooled buffer: a broker validating compressed batches
		// from Kafka clients does not allocate (and zero) one per batch.
		buf := scratchPool.Get().(*[]byte)
		defer putScratch(buf)
		var err error
		if body, err = decompressTo((*buf)[:0], body, c); err != nil {
			return unknown, false, err
		}
		*buf = body
	}
	maxDelta, err := checkRecords(body, int(b.hdr.NumRecords))
	if err != nil {
		return unknown, false, err
	}
	if err := b.checkMaxTimestamp(maxDelta); err != nil || b.LogAppendTime() {
		return unknown, false, err
	}
	return b.hdr.FirstTimestamp + maxDelta, true, nil
}

// checkMaxTimestamp fails when the header's max timestamp is below the
// first timestamp plus the largest record delta. A batch stamped with the
// log append time is left alone: its records' deltas do not count.
func (b Batch) checkMaxTimestamp(maxDelta int64) error {
	if b.LogAppendTime() {
		return nil
	}
	first, last := b.hdr.FirstTimestamp, b.hdr.MaxTimestamp
	if maxDelta > 0 && first > math.MaxInt64-maxDelta || first+maxDelta > last {
		return corrupt("max timestamp %d below its records' (first %d, largest delta %d)", last, first, maxDelta)
	}
	return nil
}

// checkRecords checks a dense records section of n records as Records
// would decode it (FuzzParse holds the two to the same verdict), without
// building a Record: no timestamps, no header slices, nothing allocated.
// Validate runs it on every batch a Kafka client produces, so it walks
// each record by position with an inlined varint reader: through
// recordDecoder, whose every read stores the slice back, it took about
// twice as long (BenchmarkValidate).
func checkRecords(body []byte, n int) (maxDelta int64, err error) {
	if n > len(body)/minRecordSize {
		return 0, corrupt("%d records in %d bytes", n, len(body))
	}
	maxDelta = math.MinInt64
	for i := range n {
		u, p := uvarint32At(body, 0)
		l := zigzag(u)
		if p < 0 || l < 0 || l > int64(len(body)-p) {
			return 0, corrupt("bad record length")
		}
		rec := body[p : p+int(l)]
		body = body[p+int(l):]
		u, q := uvarintAt(rec, 1) // the timestamp delta, after the attributes
		maxDelta = max(maxDelta, zigzag(u))
		u, q = uvarint32At(rec, q)
		if q >= 0 && zigzag(u) != int64(i) {
			return 0, corrupt("record %d has offset delta %d", i, zigzag(u))
		}
		q = skipBytes(rec, skipBytes(rec, q)) // key, value
		u, q = uvarint32At(rec, q)
		nh := zigzag(u)
		if q < 0 || nh < 0 || nh > int64((len(rec)-q)/minHeaderSize) {
			return 0, corrupt("record %d: %v", i, errShort)
		}
		for range nh {
			u, k := uvarint32At(rec, q)
			kl := zigzag(u)
			if k < 0 || kl < -1 || kl > int64(len(rec)-k) {
				q = -1
				break
			}
			// As Kafka: a header key may be empty, not null.
			if kl < 0 || kl > MaxHeaderKeyLen {
				return 0, corrupt("record %d: %v", i, ErrInvalidHeader)
			}
			q = skipBytes(rec, k+int(kl)) // the header's value
		}
		if q != len(rec) {
			return 0, corrupt("record %d: %v", i, errShort)
		}
	}
	if len(body) != 0 {
		return 0, corrupt("%d bytes after the last record", len(body))
	}
	return maxDelta, nil
}

// uvarintAt reads the unsigned varint at b[p:] as binary.Uvarint does
// and returns it with the position after it. That position is -1 when
// the varint is cut short or overflows, or when p is -1 already, so a run
// of reads is checked once at its end. It is small enough to be inlined.
func uvarintAt(b []byte, p int) (uint64, int) {
	var x uint64
	for s := uint(0); uint(p) < uint(len(b)); s += 7 {
		c := b[p]
		p++
		if c < 0x80 {
			if s == 63 && c > 1 {
				break
			}
			return x | uint64(c)<<s, p
		}
		if s == 63 {
			break
		}
		x |= uint64(c&0x7f) << s
	}
	return 0, -1
}

// maxVarint32Len is the longest varint Kafka reads for an int32 field of
// a record (its length, offset delta, key, value and header lengths and
// header count): ByteUtils.readVarint throws past 5 bytes, so a longer
// (overlong) encoding is a record no Kafka broker or Java consumer reads.
const maxVarint32Len = 5

// uvarint32At is uvarintAt for a varint of an int32 field: one longer
// than maxVarint32Len bytes gives -1. Its own loop, so it stays inlined.
func uvarint32At(b []byte, p int) (uint64, int) {
	var x uint64
	for s := uint(0); s < 7*maxVarint32Len && uint(p) < uint(len(b)); s += 7 {
		c := b[p]
		p++
		if c < 0x80 {
			return x | uint64(c)<<s, p
		}
		x |= uint64(c&0x7f) << s
	}
	return 0, -1
}

// zigzag decodes Kafka's signed varints from their unsigned form.
func zigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// skipBytes skips the varint-prefixed bytes (or Kafka's null, length -1)
// at b[p:] and returns the position after them, or -1.
func skipBytes(b []byte, p int) int {
	u, p := uvarint32At(b, p)
	switch l := zigzag(u); {
	case p < 0 || l < -1 || l > int64(len(b)-p):
		return -1
	case l == -1:
		return p
	default:
		return p + int(l)
	}
}

// scratchPool holds buffers for Validate's decompression.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledScratch keeps an outsized batch's buffer out of the pool, so
// one 64 MB batch does not stay in memory for good.
const maxPooledScratch = 4 << 20

func putScratch(buf *[]byte) {
	if cap(*buf) <= maxPooledScratch {
		scratchPool.Put(buf)
	}
}

// ValidRecords is Validate, then Records, for a caller that needs both the
// check and the records.
func (b Batch) ValidRecords(dst []Record) ([]Record, error) {
	if err := b.Validate(); err != nil {
		return dst, err
	}
	return b.Records(dst)
}

// nextRecord splits the first length-prefixed record off body; body is
// rec without its length prefix.
func nextRecord(data []byte) (rec, body, rest []byte, err error) {
	d := recordDecoder{b: data}
	l := d.varint32()
	n := len(data) - len(d.b)
	if d.bad || l < 0 || l > int64(len(d.b)) {
		return nil, nil, nil, corrupt("bad record length")
	}
	end := n + int(l)
	return data[:end], data[n:end], data[end:], nil
}

// recordFields are what decodeRecord reads from one record.
type recordFields struct {
	key, value  []byte
	headers     []Header
	offsetDelta int32
	tsDelta     int64
}

// decodeRecord decodes one record by hand: the generic kmsg decoder cost
// 86 ns a record, most of a read's time, against about 25 ns here. Key,
// value and header values alias rec.
func decodeRecord(rec []byte, f *recordFields) error {
	d := recordDecoder{b: rec}
	if len(d.b) == 0 {
		return errShort
	}
	d.b = d.b[1:] // attributes, unused in v2 records
	f.tsDelta = d.varint()
	od := d.varint32()
	f.key = d.bytes()
	f.value = d.bytes()
	nh := d.varint32()
	if nh < 0 || nh > int64(len(d.b)/minHeaderSize) {
		return errShort
	}
	if nh > 0 {
		f.headers = make([]Header, nh)
		for i := range f.headers {
			k := d.bytes()
			// As Kafka: a header key may be empty, not null (nor cut
			// short: bytes returns nil for both).
			if k == nil || len(k) > MaxHeaderKeyLen {
				return ErrInvalidHeader
			}
			f.headers[i] = Header{Key: string(k), Value: d.bytes()}
		}
	}
	if d.bad || len(d.b) != 0 || od < 0 || od > math.MaxInt32 {
		return errShort
	}
	f.offsetDelta = int32(od)
	return nil
}

var errShort = errors.New("malformed record")

// recordDecoder reads Kafka's zigzag varints and varint-prefixed bytes.
type recordDecoder struct {
	b   []byte
	bad bool
}

func (d *recordDecoder) varint() int64 {
	b := d.b
	// One- and two-byte varints (values up to ±8191) cover lengths and
	// deltas of typical records; the general decoder is the fallback.
	if len(b) > 0 && b[0] < 0x80 {
		d.b = b[1:]
		return int64(b[0]>>1) ^ -int64(b[0]&1)
	}
	if len(b) > 1 && b[1] < 0x80 {
		u := uint64(b[0]&0x7f) | uint64(b[1])<<7
		d.b = b[2:]
		return int64(u>>1) ^ -int64(u&1)
	}
	v, n := binary.Varint(b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = b[n:]
	return v
}

// varint32 is varint for an int32 field (see maxVarint32Len).
func (d *recordDecoder) varint32() int64 {
	n := len(d.b)
	v := d.varint()
	if n-len(d.b) > maxVarint32Len {
		d.bad, d.b = true, nil
		return 0
	}
	return v
}

// bytes returns nil for a length of -1 (Kafka's null).
func (d *recordDecoder) bytes() []byte {
	l := d.varint32()
	switch {
	case l == -1:
		return nil
	case l < -1 || l > int64(len(d.b)):
		d.bad, d.b = true, nil
		return nil
	}
	out := d.b[:l:l]
	d.b = d.b[l:]
	return out
}
