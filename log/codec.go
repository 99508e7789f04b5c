package log

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec is a record batch compression codec, numbered as in Kafka's batch
// attributes.
type Codec int8

// The codecs Kafka defines.
const (
	None   Codec = 0
	Gzip   Codec = 1
	Snappy Codec = 2
	LZ4    Codec = 3
	Zstd   Codec = 4
)

// MaxDecodedBytes bounds the size of a decompressed batch so a small,
// hostile batch cannot expand into an unbounded allocation.
const MaxDecodedBytes = 64 << 20

// String returns the codec's Kafka name.
func (c Codec) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// Valid reports whether c is one of the codecs Kafka defines.
func (c Codec) Valid() bool { return c >= None && c <= Zstd }

// ParseCodec returns the codec with Kafka name s ("none", "gzip", "snappy",
// "lz4", "zstd").
func ParseCodec(s string) (Codec, error) {
	for c := None; c <= Zstd; c++ {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownCodec, s)
}

// zstd encoders and decoders are safe for concurrent EncodeAll/DecodeAll
// and expensive to build, so one of each serves the process.
var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
)

func zstdCodecs() (*zstd.Encoder, *zstd.Decoder) {
	zstdOnce.Do(func() {
		zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		zstdDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(MaxDecodedBytes))
	})
	return zstdEnc, zstdDec
}

// compress appends src compressed with c to dst.
func compress(dst, src []byte, c Codec) ([]byte, error) {
	switch c {
	case None:
		return append(dst, src...), nil
	case Snappy:
		return append(dst, s2.EncodeSnappy(nil, src)...), nil
	case Zstd:
		enc, _ := zstdCodecs()
		return enc.EncodeAll(src, dst), nil
	case Gzip:
		buf := bytes.NewBuffer(dst)
		w, _ := gzip.NewWriterLevel(buf, gzip.DefaultCompression)
		if _, err := w.Write(src); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case LZ4:
		buf := bytes.NewBuffer(dst)
		w := lz4.NewWriter(buf)
		if _, err := w.Write(src); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownCodec, c)
}

// xerialMagic starts snappy data framed by the Java xerial library, which
// older Kafka clients produce.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// decompress returns src decompressed with c, at most MaxDecodedBytes.
// For None it is src itself.
func decompress(src []byte, c Codec) ([]byte, error) {
	if c == None {
		return src, nil
	}
	return decompressTo(nil, src, c)
}

// decompressTo appends src decompressed with c to dst, which is only
// reallocated if it has too little room: a caller with a scratch buffer
// decompresses without allocating.
func decompressTo(dst, src []byte, c Codec) ([]byte, error) {
	switch c {
	case None:
		return append(dst, src...), nil
	case Snappy:
		if bytes.HasPrefix(src, xerialMagic) {
			return decodeXerial(dst, src)
		}
		return decodeSnappyBlock(dst, src)
	case Zstd:
		_, dec := zstdCodecs()
		out, err := dec.DecodeAll(src, dst)
		if err != nil {
			return nil, corrupt("zstd: %v", err)
		}
		return out, nil
	case Gzip:
		r, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return nil, corrupt("gzip: %v", err)
		}
		return readLimited(dst, r, "gzip")
	case LZ4:
		frame, err := lz4Frame(src)
		if err != nil {
			return nil, err
		}
		return readLimited(dst, lz4.NewReader(bytes.NewReader(frame)), "lz4")
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownCodec, c)
}

// lz4Frame returns the LZ4 frame that starts src, up to its end mark (and
// content checksum), as Kafka's codec (Lz4BlockInputStream) reads it: one
// frame with the frame magic (not a legacy or skippable frame), version
// 1, independent blocks and no dictionary id, and nothing after its end
// mark. The pierrec reader takes all of those and goes on into following
// frames, so it would accept batches no Kafka broker or consumer reads.
func lz4Frame(src []byte) ([]byte, error) {
	const (
		magic          = 0x184D2204
		flagVersion    = 0xc0
		flagIndep      = 0x20
		flagBlockSum   = 0x10
		flagSize       = 0x08
		flagContentSum = 0x04
		flagReserved   = 0x03 // reserved bit and dictionary id
		uncompressed   = 1 << 31
	)
	if len(src) < 7 || binary.LittleEndian.Uint32(src) != magic {
		return nil, corrupt("lz4: not a Kafka LZ4 frame")
	}
	flg := src[4]
	if flg&flagVersion != 0x40 || flg&flagIndep == 0 || flg&flagReserved != 0 {
		return nil, corrupt("lz4: frame flags %#02x unsupported by Kafka", flg)
	}
	p := 7 // magic, FLG, BD, descriptor checksum
	if flg&flagSize != 0 {
		p += 8
	}
	for {
		if p > len(src)-4 {
			return nil, corrupt("lz4: frame cut short")
		}
		n := int64(binary.LittleEndian.Uint32(src[p:]) &^ uncompressed)
		p += 4
		if n == 0 {
			if flg&flagContentSum != 0 {
				p += 4
			}
			if p > len(src) {
				return nil, corrupt("lz4: frame cut short")
			}
			return src[:p], nil
		}
		if flg&flagBlockSum != 0 {
			n += 4
		}
		if n > int64(len(src)-p) {
			return nil, corrupt("lz4: frame cut short")
		}
		p += int(n)
	}
}

func readLimited(dst []byte, r io.Reader, name string) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	start := len(dst)
	if _, err := buf.ReadFrom(io.LimitReader(r, MaxDecodedBytes+1)); err != nil {
		return nil, corrupt("%s: %v", name, err)
	}
	if buf.Len()-start > MaxDecodedBytes {
		return nil, corrupt("%s: decoded size over %d bytes", name, MaxDecodedBytes)
	}
	return buf.Bytes(), nil
}

// decodeSnappyBlock appends the decoded block to dst, decoding in place
// when dst has room.
func decodeSnappyBlock(dst, src []byte) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, corrupt("snappy: %v", err)
	}
	if n > MaxDecodedBytes || len(dst)+n > MaxDecodedBytes {
		return nil, corrupt("snappy: decoded size over %d bytes", MaxDecodedBytes)
	}
	dst = slices.Grow(dst, n)
	// Strict Snappy, not s2.Decode, which also takes S2's extensions: a
	// batch using them is one no Kafka client can decode.
	if _, err := snappy.DecodeStrict(dst[len(dst):len(dst)+n], src); err != nil {
		return nil, corrupt("snappy: %v", err)
	}
	return dst[:len(dst)+n], nil
}

// decodeXerial decodes xerial framing: magic, two int32 versions, then
// chunks of int32 length and a snappy block.
func decodeXerial(out, src []byte) ([]byte, error) {
	src = src[len(xerialMagic):]
	if len(src) < 8 {
		return nil, corrupt("snappy: short xerial header")
	}
	src = src[8:]
	for len(src) > 0 {
		if len(src) < 4 {
			return nil, corrupt("snappy: short xerial chunk")
		}
		n := int(uint32(src[0])<<24 | uint32(src[1])<<16 | uint32(src[2])<<8 | uint32(src[3]))
		src = src[4:]
		if n > len(src) {
			return nil, corrupt("snappy: xerial chunk past end")
		}
		var err error
		if out, err = decodeSnappyBlock(out, src[:n]); err != nil {
			return nil, err
		}
		src = src[n:]
	}
	return out, nil
}
