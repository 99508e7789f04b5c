package log

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func sampleRecords(n int) []Record {
	recs := make([]Record, n)
	base := time.UnixMilli(1_700_000_000_000)
	for i := range recs {
		recs[i] = Record{
			Key:       []byte(fmt.Sprintf("key-%03d", i)),
			Value:     bytes.Repeat([]byte{byte(i)}, 100),
			Timestamp: base.Add(time.Duration(i) * time.Millisecond),
		}
	}
	if n >= 4 {
		recs[1].Key = nil
		recs[2].Value = nil
		recs[3].Headers = []Header{{Key: "h1", Value: []byte("v1")}, {Key: "h2"}}
	}
	return recs
}

func TestEncodeParseRoundTrip(t *testing.T) {
	for c := None; c <= Zstd; c++ {
		t.Run(c.String(), func(t *testing.T) {
			in := sampleRecords(50)
			raw, err := Encode(nil, in, c, &Producer{ID: 7, Epoch: 2, Sequence: 40}, time.Now())
			require.NoError(t, err)
			b, err := Parse(raw)
			require.NoError(t, err)
			require.Equal(t, c, b.Codec())
			require.Equal(t, 50, b.NumRecords())
			require.Equal(t, Producer{ID: 7, Epoch: 2, Sequence: 40}, b.Producer())
			b.SetBaseOffset(1000)
			require.Equal(t, int64(1049), b.LastOffset())
			_, err = Parse(b.Bytes()) // the CRC does not cover the base offset
			require.NoError(t, err)
			out, err := b.Records(nil)
			require.NoError(t, err)
			require.Len(t, out, 50)
			for i := range in {
				require.Equal(t, int64(1000+i), out[i].Offset)
				require.Equal(t, in[i].Key, out[i].Key)
				require.Equal(t, in[i].Value, out[i].Value)
				require.Equal(t, in[i].Headers, out[i].Headers)
				require.True(t, in[i].Timestamp.Equal(out[i].Timestamp))
			}
			require.Equal(t, in[49].Timestamp.UnixMilli(), b.MaxTimestamp().UnixMilli())
		})
	}
}

func TestZeroTimestampGetsNow(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	raw, err := Encode(nil, []Record{{Value: []byte("x")}}, None, nil, now)
	require.NoError(t, err)
	b, err := Parse(raw)
	require.NoError(t, err)
	recs, err := b.Records(nil)
	require.NoError(t, err)
	require.True(t, recs[0].Timestamp.Equal(now))
	require.Equal(t, int64(-1), b.Producer().ID)
}

func TestLogAppendTime(t *testing.T) {
	raw, err := Encode(nil, sampleRecords(4), Snappy, nil, time.Now())
	require.NoError(t, err)
	b, err := Parse(raw)
	require.NoError(t, err)
	at := time.UnixMilli(1_900_000_000_000)
	b.SetLogAppendTime(at)
	b2, err := Parse(b.Bytes())
	require.NoError(t, err, "CRC must be recomputed")
	require.True(t, b2.LogAppendTime())
	recs, err := b2.Records(nil)
	require.NoError(t, err)
	for _, r := range recs {
		require.True(t, r.Timestamp.Equal(at))
	}
}

func TestEncodeRejects(t *testing.T) {
	_, err := Encode(nil, nil, None, nil, time.Now())
	require.ErrorIs(t, err, ErrEmptyBatch)
	_, err = Encode(nil, sampleRecords(1), Codec(5), nil, time.Now())
	require.ErrorIs(t, err, ErrUnknownCodec)
	_, err = Encode(nil, []Record{{Headers: []Header{{Key: string(make([]byte, MaxHeaderKeyLen+1))}}}}, None, nil, time.Now())
	require.ErrorIs(t, err, ErrInvalidHeader)
	// An empty key is valid, as in Kafka.
	_, err = Encode(nil, []Record{{Headers: []Header{{Key: "", Value: []byte("v")}}}}, None, nil, time.Now())
	require.NoError(t, err)
}

func TestParseRejects(t *testing.T) {
	good, err := Encode(nil, sampleRecords(5), None, nil, time.Now())
	require.NoError(t, err)
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	cases := map[string]struct {
		raw  []byte
		want error
	}{
		"short":     {good[:HeaderSize-1], ErrCorruptBatch},
		"truncated": {good[:len(good)-1], ErrCorruptBatch},
		"trailing":  {append(append([]byte(nil), good...), 0), ErrCorruptBatch},
		"crc":       {mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrCorruptBatch},
		"magic":     {mutate(func(b []byte) []byte { b[offMagic] = 1; return b }), ErrUnsupportedMagic},
		"codec": {mutate(func(b []byte) []byte {
			b[offAttributes+1] |= 6
			binary.BigEndian.PutUint32(b[offCRC:], crcOf(b))
			return b
		}), ErrUnknownCodec},
		"count": {mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[HeaderSize-4:], 9)
			binary.BigEndian.PutUint32(b[offCRC:], crcOf(b))
			return b
		}), ErrCorruptBatch},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.raw)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestValidateRejectsBadRecords(t *testing.T) {
	good, err := Encode(nil, sampleRecords(5), None, nil, time.Now())
	require.NoError(t, err)
	bad := append([]byte(nil), good...)
	bad[HeaderSize] = 0x7f // first record's length varint now claims too much
	binary.BigEndian.PutUint32(bad[offCRC:], crcOf(bad))
	b, err := Parse(bad)
	require.NoError(t, err)
	require.ErrorIs(t, b.Validate(), ErrCorruptBatch)

	// A compressed body that is not valid for its codec.
	for c := Gzip; c <= Zstd; c++ {
		raw, err := Encode(nil, sampleRecords(5), c, nil, time.Now())
		require.NoError(t, err)
		raw[HeaderSize+2] ^= 0xff
		raw[HeaderSize+3] ^= 0xff
		binary.BigEndian.PutUint32(raw[offCRC:], crcOf(raw))
		b, err := Parse(raw)
		require.NoError(t, err)
		require.ErrorIs(t, b.Validate(), ErrCorruptBatch, c.String())
	}
}

func TestCodecNames(t *testing.T) {
	for c := None; c <= Zstd; c++ {
		got, err := ParseCodec(c.String())
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
	_, err := ParseCodec("brotli")
	require.ErrorIs(t, err, ErrUnknownCodec)
}

func TestXerialSnappy(t *testing.T) {
	body := bytes.Repeat([]byte("cairn"), 1000)
	framed := append([]byte(nil), xerialMagic...)
	framed = append(framed, 0, 0, 0, 1, 0, 0, 0, 1)
	for _, chunk := range [][]byte{body[:2000], body[2000:]} {
		enc, err := compress(nil, chunk, Snappy)
		require.NoError(t, err)
		framed = binary.BigEndian.AppendUint32(framed, uint32(len(enc)))
		framed = append(framed, enc...)
	}
	out, err := decompress(framed, Snappy)
	require.NoError(t, err)
	require.Equal(t, body, out)
}

func TestKeys(t *testing.T) {
	k := DataKey(nil, 3, 7, 1234)
	require.Len(t, k, DataKeyLen)
	off, ok := DataKeyOffset(k)
	require.True(t, ok)
	require.Equal(t, int64(1234), off)
	require.Less(t, string(k), string(DataKey(nil, 3, 7, 1235)))
	require.Less(t, string(DataKey(nil, 3, 7, 1<<40)), string(DataKey(nil, 3, 8, 0)))
	require.Equal(t, []byte{'d', 0, 0, 0, 4}, PrefixEnd([]byte{'d', 0, 0, 0, 3}))
	require.Equal(t, []byte{'e'}, PrefixEnd([]byte{'d', 0xff}))
}

func crcOf(b []byte) uint32 { return checksum(b) }

// Validate's record walk reads varints of every length as the full
// decoder does: one to ten bytes for the timestamp delta, the tenth at
// most 1, one to five for the others (Kafka's varint and varlong);
// longer or cut short is corrupt. Each field of a record gets each encoding in turn,
// and Validate and ValidRecords must give the same verdict.
func TestValidateVarintsAsRecords(t *testing.T) {
	// uvarintBytes encodes u in exactly n bytes (padding with 0x80 groups).
	uvarintBytes := func(u uint64, n int) []byte {
		out := make([]byte, 0, n)
		for i := 0; i < n-1; i++ {
			out = append(out, byte(u&0x7f)|0x80)
			u >>= 7
		}
		return append(out, byte(u))
	}
	zz := func(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }
	encodings := func(v int64) map[string][]byte {
		out := map[string][]byte{"overflow": append(bytes.Repeat([]byte{0xff}, 9), 0x02),
			"eleven bytes": append(bytes.Repeat([]byte{0x80}, 10), 0x00),
			"cut short":    {0x80}}
		for n := 1; n <= 10; n++ {
			if n > 1 || zz(v) < 0x80 {
				out[fmt.Sprintf("%d bytes", n)] = uvarintBytes(zz(v), n)
			}
		}
		return out
	}
	// fields of one record at offset delta 0: attributes, timestamp delta,
	// offset delta, key length, key, value length, value, header count.
	fields := [][]byte{{0}, {0}, {0}, {2}, []byte("k"), {4}, []byte("vv"), {0}}
	values := map[int]int64{1: 0, 2: 0, 3: 1, 5: 2, 7: 0} // timestamp delta 0: the header's max is its first
	for _, f := range []int{1, 2, 3, 5, 7} {
		for name, enc := range encodings(values[f]) {
			rec := slices.Clone(fields)
			rec[f] = enc
			body := bytes.Join(rec, nil)
			if name == "cut short" {
				body = append(bytes.Join(rec[:f], nil), enc...) // the record ends inside the varint
			}
			records := append(uvarintBytes(zz(int64(len(body))), 1+len(body)/64), body...)
			raw, err := Encode(nil, []Record{{Value: []byte("x")}}, None, nil, time.UnixMilli(1))
			require.NoError(t, err)
			raw = append(raw[:HeaderSize], records...)
			binary.BigEndian.PutUint32(raw[offLength:], uint32(len(raw)-lengthOverhead))
			binary.BigEndian.PutUint32(raw[offCRC:], crcOf(raw))
			b, err := Parse(raw)
			require.NoError(t, err)
			_, full := b.ValidRecords(nil)
			require.Equal(t, full == nil, b.Validate() == nil, "field %d, %s: the full decoder says %v", f, name, full)
			// As Kafka: the timestamp delta is a varlong (up to ten
			// bytes), the other fields int32 varints (up to five).
			var n int
			if _, err := fmt.Sscanf(name, "%d bytes", &n); err == nil && n <= 10 {
				if f == 1 || n <= 5 {
					require.NoError(t, full, "field %d, %s", f, name)
				} else {
					require.ErrorIs(t, full, ErrCorruptBatch, "field %d, %s", f, name)
				}
			}
		}
	}
}

// Validate and ValidRecords refuse a header whose max timestamp is below
// its records'; a batch stamped with the log append time is not checked.
func TestValidateMaxTimestamp(t *testing.T) {
	raw, err := Encode(nil, sampleRecords(3), None, nil, time.Now()) // 1 ms apart
	require.NoError(t, err)
	b, err := Parse(raw)
	require.NoError(t, err)
	require.NoError(t, b.Validate())
	low := bytes.Clone(raw)
	binary.BigEndian.PutUint64(low[35:], uint64(b.hdr.MaxTimestamp-1))
	binary.BigEndian.PutUint32(low[offCRC:], crcOf(low))
	lb, err := Parse(low)
	require.NoError(t, err)
	require.ErrorIs(t, lb.Validate(), ErrCorruptBatch)
	_, err = lb.ValidRecords(nil)
	require.ErrorIs(t, err, ErrCorruptBatch)
	lb.SetLogAppendTime(time.UnixMilli(0))
	require.NoError(t, lb.Validate(), "stamped with the log append time")
}
