package log

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kmsgRecord is the reference encoding: kmsg's, with the length prefix
// fixed up the way the former encoder did it.
func kmsgRecord(r *Record, tsDelta int64, offsetDelta int32) []byte {
	kr := kmsg.Record{TimestampDelta64: tsDelta, OffsetDelta: offsetDelta, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
	}
	scratch := kr.AppendTo(nil) // Length 0 takes one byte
	return append(binary.AppendVarint(nil, int64(len(scratch)-1)), scratch[1:]...)
}

func randomBytes(rng *rand.Rand) []byte {
	switch rng.IntN(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, rng.IntN(300))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestAppendRecordMatchesKmsg(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		r := Record{Key: randomBytes(rng), Value: randomBytes(rng)}
		for range rng.IntN(3) {
			r.Headers = append(r.Headers, Header{Key: string(bytes.Repeat([]byte{'h'}, 1+rng.IntN(200))), Value: randomBytes(rng)})
		}
		tsDelta := rng.Int64N(1<<40) - 1<<39
		offDelta := rng.Int32N(1 << 20)
		want := kmsgRecord(&r, tsDelta, offDelta)
		got := appendRecord(nil, &r, tsDelta, offDelta)
		require.Equal(t, want, got, "record %d", i)
	}
}

func TestVarintLen(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 20, -(1 << 40), 1<<63 - 1, -1 << 63} {
		require.Len(t, binary.AppendVarint(nil, v), varintLen(v), "%d", v)
	}
}

func TestBuilderMatchesEncode(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	in := sampleRecords(40)
	in[5].Timestamp = time.Time{} // takes now
	in[6].Timestamp = in[0].Timestamp.Add(-time.Hour)
	pr := &Producer{ID: 4, Epoch: 1, Sequence: 17}
	var b Builder
	for round := range 2 { // the second round reuses the buffers
		b.Reset()
		for i := range in {
			require.NoError(t, b.Add(&in[i], now))
		}
		require.Equal(t, len(in), b.Len())
		for c := None; c <= Zstd; c++ {
			want, err := Encode(nil, in, c, pr, now)
			require.NoError(t, err)
			got, err := b.Finish(c, pr)
			require.NoError(t, err, "round %d codec %s", round, c)
			if c == None || c == Snappy { // deterministic codecs: same bytes
				require.Equal(t, want, got.Bytes(), "codec %s", c)
			}
			parsed, err := Parse(got.Bytes())
			require.NoError(t, err)
			require.NoError(t, parsed.Validate())
			out, err := parsed.Records(nil)
			require.NoError(t, err)
			require.Len(t, out, len(in))
			require.Equal(t, in[7].Value, out[7].Value)
			require.Equal(t, now.UnixMilli(), out[5].Timestamp.UnixMilli())
			require.Equal(t, in[6].Timestamp.UnixMilli(), out[6].Timestamp.UnixMilli())
			require.Equal(t, *pr, parsed.Producer())
			require.Equal(t, parsed.MaxTimestamp(), got.MaxTimestamp())
			require.Equal(t, parsed.NumRecords(), got.NumRecords())
		}
	}
}

// Builder.Build encodes what Build does, and a builder reused for a
// larger and then a smaller set gives each its own records.
func TestBuilderBuildReuses(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	var b Builder
	for _, n := range []int{40, 3, 40} {
		in := sampleRecords(n)
		want, err := Build(in, Snappy, nil, now)
		require.NoError(t, err)
		got, err := b.Build(in, Snappy, nil, now)
		require.NoError(t, err)
		require.Equal(t, want.Bytes(), got.Bytes(), "%d records", n)
		out, err := got.Records(nil)
		require.NoError(t, err)
		require.Len(t, out, n)
		require.Equal(t, in[n-1].Value, out[n-1].Value)
	}
	_, err := b.Build(nil, None, nil, now)
	require.ErrorIs(t, err, ErrEmptyBatch)
	_, err = b.Build(sampleRecords(1), Codec(9), nil, now)
	require.ErrorIs(t, err, ErrUnknownCodec)
}

func TestBuilderErrors(t *testing.T) {
	var b Builder
	_, err := b.Finish(None, nil)
	require.ErrorIs(t, err, ErrEmptyBatch)
	require.NoError(t, b.Add(&Record{Value: []byte("a")}, time.Now()))
	size := b.Size()
	require.ErrorIs(t, b.Add(&Record{Headers: []Header{{Key: string(make([]byte, MaxHeaderKeyLen+1))}}}, time.Now()), ErrInvalidHeader)
	require.Equal(t, 1, b.Len(), "a refused record changes nothing")
	require.Equal(t, size, b.Size())
	_, err = b.Finish(Codec(9), nil)
	require.ErrorIs(t, err, ErrUnknownCodec)
	got, err := b.Finish(None, nil)
	require.NoError(t, err)
	require.Equal(t, Producer{ID: -1, Epoch: -1, Sequence: -1}, got.Producer())
}

// A built batch skips Validate's decoding; the same bytes parsed from
// elsewhere are decoded, and corruption the CRC cannot see (it is
// recomputed here) is caught.
func TestValidateTrustsOnlyBuiltBatches(t *testing.T) {
	var b Builder
	require.NoError(t, b.Add(&Record{Value: []byte("abc")}, time.Now()))
	built, err := b.Finish(None, nil)
	require.NoError(t, err)
	require.NoError(t, built.Validate())
	raw := bytes.Clone(built.Bytes())
	raw[HeaderSize] = 0x7f // the record's length varint now claims 63 bytes
	binary.BigEndian.PutUint32(raw[offCRC:], checksum(raw))
	parsed, err := Parse(raw)
	require.NoError(t, err)
	require.ErrorIs(t, parsed.Validate(), ErrCorruptBatch)
}

func FuzzBuilder(f *testing.F) {
	f.Add([]byte("k"), []byte("v"), "h", []byte("hv"), int64(0))
	f.Add([]byte(nil), []byte{}, "x", []byte(nil), int64(-5000))
	f.Fuzz(func(t *testing.T, key, value []byte, hkey string, hvalue []byte, tsDelta int64) {
		base := time.UnixMilli(1_700_000_000_000)
		r := Record{Key: key, Value: value, Timestamp: base.Add(time.Duration(tsDelta%1e9) * time.Millisecond)}
		if hkey != "" {
			r.Headers = []Header{{Key: hkey, Value: hvalue}}
		}
		var b Builder
		require.NoError(t, b.Add(&Record{Value: []byte("first"), Timestamp: base}, base))
		if err := b.Add(&r, base); err != nil {
			require.ErrorIs(t, err, ErrInvalidHeader)
			return
		}
		require.Equal(t, kmsgRecord(&r, r.Timestamp.UnixMilli()-base.UnixMilli(), 1),
			appendRecord(nil, &r, r.Timestamp.UnixMilli()-base.UnixMilli(), 1))
		built, err := b.Finish(None, nil)
		require.NoError(t, err)
		parsed, err := Parse(built.Bytes())
		require.NoError(t, err)
		out, err := parsed.Records(nil)
		require.NoError(t, err)
		require.Len(t, out, 2)
		require.Equal(t, key, out[1].Key)
		require.Equal(t, value, out[1].Value)
		require.Equal(t, r.Headers, out[1].Headers)
	})
}
