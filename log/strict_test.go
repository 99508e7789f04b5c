package log

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/stretchr/testify/require"
)

// The length field is not covered by the CRC: Parse must check it against
// the bytes, or a batch whose length disagrees with its size is stored and
// then served to Kafka clients, which cut batches by that field.
func TestParseRejectsShortLengthField(t *testing.T) {
	good, err := Encode(nil, sampleRecords(5), None, nil, time.Now())
	require.NoError(t, err)
	for _, delta := range []int{-1, -20} {
		raw := append([]byte(nil), good...)
		l := int(binary.BigEndian.Uint32(raw[offLength:]))
		binary.BigEndian.PutUint32(raw[offLength:], uint32(l+delta))
		b, err := Parse(raw)
		if err == nil {
			err = b.Validate()
		}
		require.ErrorIs(t, err, ErrCorruptBatch, "length field %d for %d bytes", l+delta, len(raw)-lengthOverhead)
	}
}

// Kafka's snappy codec is the standard Snappy block format (or xerial
// frames of it), which Kafka's Java clients decode with snappy-java: a
// body using S2's extensions (a copy with offset 0, "repeat the last
// offset") is not Snappy, so a broker must refuse it, not store a batch
// no Kafka consumer can read.
func TestSnappyRefusesS2Extensions(t *testing.T) {
	var data []byte
	for i := range 200 {
		data = append(data, "0123456789abcdef"...)
		data = append(data, byte(i), byte(i>>3), byte(i*7))
	}
	block := s2.Encode(nil, data)
	_, strictErr := snappy.DecodeStrict(nil, block)
	require.Error(t, strictErr, "the S2 block uses S2's extensions")
	raw, err := Encode(nil, []Record{{Value: data}}, None, nil, time.Now())
	require.NoError(t, err)
	framed := append(append([]byte(nil), raw[:HeaderSize]...), s2.Encode(nil, raw[HeaderSize:])...)
	framed[offAttributes+1] = byte(Snappy)
	binary.BigEndian.PutUint32(framed[offLength:], uint32(len(framed)-lengthOverhead))
	binary.BigEndian.PutUint32(framed[offCRC:], crcOf(framed))
	b, err := Parse(framed)
	require.NoError(t, err)
	_, strictErr = snappy.DecodeStrict(nil, framed[HeaderSize:])
	require.Error(t, strictErr, "the batch's body is not Snappy")
	require.ErrorIs(t, b.Validate(), ErrCorruptBatch)
}
