package kafka_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/kafka"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// idemBatch is batch(values...) from an idempotent producer.
func idemBatch(id int64, epoch int16, seq int32, values ...string) []byte {
	var recs []byte
	for i, v := range values {
		recs = appendRecord(recs, i, nil, v)
	}
	ms := time.Now().UnixMilli()
	b := (&kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp: ms, MaxTimestamp: ms, ProducerID: id, ProducerEpoch: epoch, FirstSequence: seq,
		NumRecords: int32(len(values)), Records: recs}).AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// An exact retry of an idempotent batch is answered as Kafka does: no
// error, with the stored batch's base offset, and nothing stored twice.
func TestIdempotentExactRetryAnswer(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "keep", 1, nil))
	r := dialRaw(t, addr)
	id, epoch, err := b.InitProducerID(ctx)
	require.NoError(t, err)
	first := produce(t, r, idemBatch(id, epoch, 0, "a", "b"))
	require.Zero(t, first.ErrorCode)
	second := produce(t, r, idemBatch(id, epoch, 2, "c"))
	require.Zero(t, second.ErrorCode)
	again := produce(t, r, idemBatch(id, epoch, 0, "a", "b"))
	require.Zero(t, again.ErrorCode, "code %d", again.ErrorCode)
	require.Equal(t, first.BaseOffset, again.BaseOffset)
	recs, err := b.Read(ctx, "keep", 0, 0, 1<<20)
	require.NoError(t, err)
	require.Len(t, recs, 3)
}

// lossyProxy forwards Kafka connections to target and, for the first
// produce request it sees, forwards the request but drops the answer and
// closes the client's connection: the response is lost.
type lossyProxy struct {
	ln      net.Listener
	target  string
	dropped atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func (p *lossyProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *lossyProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *lossyProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.track(c)
		p.track(s)
		var dropCorr atomic.Int64
		dropCorr.Store(-1)
		p.wg.Add(2)
		go func() { // client -> server
			defer p.wg.Done()
			defer s.Close()
			for {
				frame, err := readFrame(c)
				if err != nil {
					return
				}
				key := int16(binary.BigEndian.Uint16(frame[4:]))
				corr := int32(binary.BigEndian.Uint32(frame[8:]))
				if key == 0 && p.dropped.CompareAndSwap(false, true) {
					dropCorr.Store(int64(corr))
				}
				if _, err := s.Write(frame); err != nil {
					return
				}
			}
		}()
		go func() { // server -> client
			defer p.wg.Done()
			defer c.Close()
			for {
				frame, err := readFrame(s)
				if err != nil {
					return
				}
				corr := int32(binary.BigEndian.Uint32(frame[4:]))
				if int64(corr) == dropCorr.Load() {
					return // the answer is lost; the connection breaks
				}
				if _, err := c.Write(frame); err != nil {
					return
				}
			}
		}()
	}
}

func readFrame(c net.Conn) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, 4+binary.BigEndian.Uint32(size[:]))
	copy(frame, size[:])
	_, err := io.ReadFull(c, frame[4:])
	return frame, err
}

// A franz-go idempotent producer whose produce answer is lost retries on
// a new connection: it ends with success, and the record is stored once.
func TestFranzGoRetryAfterLostResponse(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := kafka.NewServer(b, &kafka.Options{AdvertisedAddr: proxyLn.Addr().String()})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	p := &lossyProxy{ln: proxyLn, target: ln.Addr().String()}
	p.wg.Add(1)
	go p.serve()
	cl, err := kgo.NewClient(kgo.SeedBrokers(proxyLn.Addr().String()))
	require.NoError(t, err)
	t.Cleanup(func() {
		cl.Close()
		p.close()
		require.NoError(t, s.Close())
		require.NoError(t, <-done)
		require.NoError(t, b.Close())
	})
	res := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("once")})
	require.NoError(t, res.FirstErr())
	require.True(t, p.dropped.Load())
	res = cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("next")})
	require.NoError(t, res.FirstErr())
	require.Equal(t, int64(1), res[0].Record.Offset)
	recs, err := b.Read(ctx, "t", 0, 0, 1<<20)
	require.NoError(t, err)
	require.Len(t, recs, 2)
}

// OffsetCommit errors are per partition, as Kafka's: a partition whose
// commit is refused gets its own error and the others are committed.
// Kafka refuses a partition only for an unknown partition or metadata
// over offset.metadata.max.bytes (4096); Cairn also refuses negative
// offsets, which must then fail that partition alone.
func TestOffsetCommitPerPartitionErrors(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "c", 3, nil))
	r := dialRaw(t, addr)
	commit := func(parts ...kmsg.OffsetCommitRequestTopicPartition) map[int32]int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.SetVersion(8)
		req.Group, req.Generation = "g", -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic, rt.Partitions = "c", parts
		req.Topics = append(req.Topics, rt)
		resp := kmsg.NewPtrOffsetCommitResponse()
		resp.SetVersion(8)
		r.roundTrip(req, resp, true)
		codes := map[int32]int16{}
		for _, p := range resp.Topics[0].Partitions {
			codes[p.Partition] = p.ErrorCode
		}
		return codes
	}
	part := func(p int32, off int64, meta *string) kmsg.OffsetCommitRequestTopicPartition {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = p, off, meta
		return rp
	}

	codes := commit(part(0, 5, nil), part(1, -7, nil), part(9, 3, nil))
	got, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	t.Logf("codes %v, stored %v", codes, got)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, codes[9])
	require.NotZero(t, codes[1], "the negative offset is refused")
	require.Zero(t, codes[0], "the good partition's commit is not failed by its neighbour")
	require.Len(t, got, 1)

	codes = commit(part(2, 4, kmsg.StringPtr(string(make([]byte, 5000)))), part(0, 6, nil))
	got, err = b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Equal(t, kerr.OffsetMetadataTooLarge.Code, codes[2], "metadata over offset.metadata.max.bytes")
	require.Zero(t, codes[0])
	require.Len(t, got, 1, "nothing stored for partition 2")
	require.Equal(t, int64(6), got[group.TopicPartition{Topic: "c", Partition: 0}].Offset)
}

// flakyListener fails its first Accept as a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	failed atomic.Bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failed.CompareAndSwap(false, true) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// A transient Accept error (EMFILE: too many open files) does not stop
// the server, as it does not stop Kafka's acceptor or net/http's Serve:
// once descriptors free up, clients are served again.
func TestServeSurvivesTransientAcceptError(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := &flakyListener{Listener: inner}
	s := kafka.NewServer(b, nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	defer func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-done)
	}()
	select {
	case err := <-done:
		done <- err // for the deferred check, which then fails
		t.Fatalf("Serve stopped after one failed Accept: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(inner.Addr().String()))
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr())
}

// brokenListener fails every Accept with an error that does not pass,
// and counts its Close calls.
type brokenListener struct {
	net.Listener
	closes atomic.Int32
}

func (l *brokenListener) Accept() (net.Conn, error) {
	return nil, errors.New("listener broken")
}

func (l *brokenListener) Close() error {
	l.closes.Add(1)
	return l.Listener.Close()
}

// Serve owns its listener: when an Accept error ends it, the listener is
// closed then (it stayed open, its port taken and nobody served, until
// the server's Close), and Close does not close it again.
func TestServeClosesListenerOnAcceptError(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := &brokenListener{Listener: inner}
	s := kafka.NewServer(b, nil)
	require.ErrorContains(t, s.Serve(ln), "listener broken")
	require.Equal(t, int32(1), ln.closes.Load(), "closed when Serve returned")
	require.NoError(t, s.Close())
	require.Equal(t, int32(1), ln.closes.Load(), "closed once")
}
