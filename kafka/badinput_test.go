package kafka_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cairnlog/cairn/kafka"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawConn is a client connection that writes hand-made frames.
type rawConn struct {
	t    *testing.T
	c    net.Conn
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c}
}

// header returns a request header: v1, or v2 (with an empty tagged-fields
// section) when flexible.
func header(key, version int16, corr int32, clientID string, flexible bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(clientID)))
	b = append(b, clientID...)
	if flexible {
		b = append(b, 0)
	}
	return b
}

// encode returns req as a frame without its size: header and body.
func encode(req kmsg.Request, corr int32) []byte {
	return req.AppendTo(header(req.Key(), req.GetVersion(), corr, "raw", req.IsFlexible()))
}

// send writes a size-prefixed frame.
func (r *rawConn) send(frame []byte) {
	r.write(binary.BigEndian.AppendUint32(nil, uint32(len(frame))), frame)
}

func (r *rawConn) write(parts ...[]byte) {
	r.t.Helper()
	for _, p := range parts {
		_, err := r.c.Write(p)
		require.NoError(r.t, err)
	}
}

// roundTrip sends req and decodes the answer into resp, checking the
// correlation id; flexHeader says whether the response header has tags.
func (r *rawConn) roundTrip(req kmsg.Request, resp kmsg.Response, flexHeader bool) {
	r.t.Helper()
	r.corr++
	r.send(encode(req, r.corr))
	require.NoError(r.t, r.c.SetReadDeadline(time.Now().Add(10*time.Second)))
	var size [4]byte
	_, err := io.ReadFull(r.c, size[:])
	require.NoError(r.t, err)
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err = io.ReadFull(r.c, body)
	require.NoError(r.t, err)
	require.Equal(r.t, r.corr, int32(binary.BigEndian.Uint32(body)), "correlation id")
	body = body[4:]
	if flexHeader {
		require.Equal(r.t, byte(0), body[0], "no response header tags")
		body = body[1:]
	}
	require.NoError(r.t, resp.ReadFrom(body))
}

// expectClosed checks that the broker closed the connection.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	require.NoError(r.t, r.c.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, err := r.c.Read(make([]byte, 1))
	require.Zero(r.t, n, "no answer")
	var ne net.Error
	require.False(r.t, errors.As(err, &ne) && ne.Timeout(), "the connection is still open")
	require.Error(r.t, err)
}

// batch returns a RecordBatch v2 of values stamped now, with a correct CRC.
func batch(values ...string) []byte { return batchAt(time.Now().UnixMilli(), values...) }

// batchAt returns a RecordBatch v2 of values (with null keys) stamped at
// ms.
func batchAt(ms int64, values ...string) []byte {
	var recs []byte
	for i, v := range values {
		recs = appendRecord(recs, i, nil, v)
	}
	return recordBatch(ms, len(values), recs)
}

// appendRecord appends a length-prefixed v2 record at offset delta i; a
// nil key is Kafka's null.
func appendRecord(recs []byte, i int, key []byte, value string) []byte {
	var body []byte
	body = append(body, 0)                     // attributes
	body = binary.AppendVarint(body, 0)        // timestamp delta
	body = binary.AppendVarint(body, int64(i)) // offset delta
	if key == nil {
		body = binary.AppendVarint(body, -1)
	} else {
		body = binary.AppendVarint(body, int64(len(key)))
		body = append(body, key...)
	}
	body = binary.AppendVarint(body, int64(len(value)))
	body = append(body, value...)
	body = binary.AppendVarint(body, 0) // no headers
	recs = binary.AppendVarint(recs, int64(len(body)))
	return append(recs, body...)
}

// recordBatch frames n records as a RecordBatch v2 stamped at ms, with its
// length and CRC set.
func recordBatch(ms int64, n int, recs []byte) []byte {
	b := (&kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1),
		FirstTimestamp: ms, MaxTimestamp: ms, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(n), Records: recs}).AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func produceRequest(topic string, partition int32, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(9)
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func produce(t *testing.T, r *rawConn, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(9)
	r.roundTrip(produceRequest("keep", 0, records), resp, true)
	require.Len(t, resp.Topics, 1)
	require.Len(t, resp.Topics[0].Partitions, 1)
	return resp.Topics[0].Partitions[0]
}

func metadataV9() []byte {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(9)
	return encode(req, 1)
}

// Each bad input closes its connection or gets an error code; the broker
// keeps serving other connections and a Kafka client, and loses nothing.
func TestBadInput(t *testing.T) {
	const maxRequest = 1 << 16
	b, addr := serve(t, &kafka.Options{MaxRequestBytes: maxRequest})
	require.NoError(t, b.CreateTopic(ctx, "keep", 1, nil))
	cl := client(t, addr)
	var want []string
	produceOne := func() {
		t.Helper()
		v := fmt.Sprint("r", len(want))
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "keep", Value: []byte(v)}).FirstErr())
		want = append(want, v)
	}
	for range 5 {
		produceOne()
	}
	other := dialRaw(t, addr) // open throughout, served after each bad input
	otherServed := func() {
		t.Helper()
		req := kmsg.NewPtrApiVersionsRequest()
		req.SetVersion(3)
		req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.SetVersion(3)
		other.roundTrip(req, resp, false)
		require.Zero(t, resp.ErrorCode)
	}

	truncatedProduce := encode(produceRequest("keep", 0, batch("lost")), 1)
	badTags := header(kmsg.Metadata.Int16(), 9, 1, "raw", false)
	badTags = append(badTags, 5) // five tagged fields that are not there
	hugeArray := header(kmsg.Metadata.Int16(), 4, 1, "raw", false)
	hugeArray = binary.BigEndian.AppendUint32(hugeArray, 1<<30) // topics
	closes := []struct {
		name string
		send func(r *rawConn)
	}{
		{"size below a header", func(r *rawConn) { r.send([]byte{0, 3, 0, 0}) }},
		{"header cut before the client id", func(r *rawConn) { r.send(metadataV9()[:9]) }},
		{"client id longer than the frame", func(r *rawConn) {
			r.send(binary.BigEndian.AppendUint16(header(kmsg.Metadata.Int16(), 4, 1, "", false)[:8], 500))
		}},
		{"negative size", func(r *rawConn) { r.write([]byte{0xff, 0xff, 0xff, 0xf0}, metadataV9()) }},
		{"oversized", func(r *rawConn) {
			r.write(binary.BigEndian.AppendUint32(nil, maxRequest+1)) // closed before any body is sent
		}},
		{"truncated frame", func(r *rawConn) {
			f := metadataV9()
			r.write(binary.BigEndian.AppendUint32(nil, uint32(len(f)+50)), f)
			require.NoError(t, r.c.(*net.TCPConn).CloseWrite())
		}},
		{"truncated produce body", func(r *rawConn) { r.send(truncatedProduce[:len(truncatedProduce)-10]) }},
		{"broken header tags", func(r *rawConn) { r.send(badTags) }},
		{"array longer than the body", func(r *rawConn) { r.send(hugeArray) }},
		{"unknown api key", func(r *rawConn) { r.send(header(999, 0, 1, "raw", false)) }},
		{"negative api key", func(r *rawConn) { r.send(header(-1, 0, 1, "raw", false)) }},
		{"api key not served (EndTxn)", func(r *rawConn) {
			req := kmsg.NewPtrEndTxnRequest()
			r.send(encode(req, 1))
		}},
		{"version above the advertised", func(r *rawConn) {
			r.send(append(header(kmsg.Metadata.Int16(), 99, 1, "raw", true), 0))
		}},
		{"version below the advertised", func(r *rawConn) {
			req := produceRequest("keep", 0, batch("lost"))
			req.SetVersion(2)
			r.send(encode(req, 1))
		}},
	}
	for _, tc := range closes {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, addr)
			tc.send(r)
			r.expectClosed()
			otherServed()
			produceOne()
		})
	}

	t.Run("ApiVersions of an unknown version", func(t *testing.T) {
		r := dialRaw(t, addr)
		req := kmsg.NewPtrApiVersionsRequest()
		req.SetVersion(99)
		resp := kmsg.NewPtrApiVersionsResponse() // answered in v0 form
		r.roundTrip(req, resp, false)
		require.Equal(t, kerr.UnsupportedVersion.Code, resp.ErrorCode)
		keys := map[int16]kmsg.ApiVersionsResponseApiKey{}
		for _, k := range resp.ApiKeys {
			keys[k.ApiKey] = k
		}
		require.Equal(t, int16(3), keys[kmsg.ApiVersions.Int16()].MaxVersion)
		require.Contains(t, keys, kmsg.Produce.Int16())
		require.Contains(t, keys, kmsg.Fetch.Int16())
		// The client retries with a version we know, on the same connection.
		req.SetVersion(3)
		resp = kmsg.NewPtrApiVersionsResponse()
		resp.SetVersion(3)
		r.roundTrip(req, resp, false)
		require.Zero(t, resp.ErrorCode)
		require.Equal(t, keys, func() map[int16]kmsg.ApiVersionsResponseApiKey {
			m := map[int16]kmsg.ApiVersionsResponseApiKey{}
			for _, k := range resp.ApiKeys {
				m[k.ApiKey] = k
			}
			return m
		}())
		otherServed()
		produceOne()
	})

	t.Run("batch with a bad CRC", func(t *testing.T) {
		r := dialRaw(t, addr)
		_, hwm, err := b.Watermarks("keep", 0)
		require.NoError(t, err)
		bad := batch("corrupt-1", "corrupt-2")
		bad[len(bad)-2] ^= 0xff // a value byte: the CRC no longer matches
		require.Equal(t, kerr.CorruptMessage.Code, produce(t, r, bad).ErrorCode)
		cut := batch("cut")
		require.Equal(t, kerr.CorruptMessage.Code, produce(t, r, cut[:len(cut)-3]).ErrorCode)
		// Two batches for one partition are refused whole, as Kafka does for
		// produce v3+, so a good first batch is not stored alone.
		two := append(batch("good-with-bad"), bad...)
		require.Equal(t, kerr.InvalidRecord.Code, produce(t, r, two).ErrorCode)
		// No batch at all is INVALID_RECORD too, as Kafka: the retriable
		// CORRUPT_MESSAGE had clients send nothing again until they gave up.
		require.Equal(t, kerr.InvalidRecord.Code, produce(t, r, nil).ErrorCode)
		require.Equal(t, kerr.InvalidRecord.Code, produce(t, r, []byte{}).ErrorCode)
		_, after, err := b.Watermarks("keep", 0)
		require.NoError(t, err)
		require.Equal(t, hwm, after, "nothing stored")
		// The connection stays usable: a good batch on it is stored.
		got := produce(t, r, batch("raw-good"))
		require.Zero(t, got.ErrorCode)
		require.Equal(t, hwm, got.BaseOffset)
		want = append(want, "raw-good")
		otherServed()
		produceOne()
	})

	// A Kafka client reads back everything, in order.
	cons := client(t, addr, kgo.ConsumeTopics("keep"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) < len(want) {
		fs := cons.PollFetches(ctx)
		require.NoError(t, fs.Err())
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	require.Equal(t, want, got)
}
