package kafka_test

import (
	"encoding/binary"
	"io"
	"math"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/kafka"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka answers INVALID_REPLICATION_FACTOR (38) for a replication factor
// the cluster cannot satisfy.
func TestCreateTopicsReplicationFactor(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(5)
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "rf3", 1, 3
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrCreateTopicsResponse()
	resp.SetVersion(5)
	r.roundTrip(req, resp, true)
	got := resp.Topics[0].ErrorCode
	t.Logf("error code %d (%v), message %v", got, kerr.ErrorForCode(got), *resp.Topics[0].ErrorMessage)
	require.Equal(t, kerr.InvalidReplicationFactor.Code, got)
}

// Kafka's ListOffsets by time answers the found record's timestamp, and
// offset -1 with timestamp -1 when there is none.
func TestListOffsetsFoundTimestamp(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "ts", 1, nil))
	r := dialRaw(t, addr)
	for _, ms := range []int64{1000, 3000} {
		resp := kmsg.NewPtrProduceResponse()
		resp.SetVersion(9)
		r.roundTrip(produceRequest("ts", 0, batchAt(ms, "v")), resp, true)
		require.Zero(t, resp.Topics[0].Partitions[0].ErrorCode)
	}
	req := listOffsetsRequest("ts", 2000, 6)
	resp := kmsg.NewPtrListOffsetsResponse()
	resp.SetVersion(6)
	r.roundTrip(req, resp, true)
	p := resp.Topics[0].Partitions[0]
	t.Logf("offset %d timestamp %d", p.Offset, p.Timestamp)
	require.Equal(t, int64(1), p.Offset)
	require.Equal(t, int64(3000), p.Timestamp, "the timestamp of the record at offset 1")
}

// A record ListOffsets found by time, removed by DeleteRecords (or
// retention) before it was read for its timestamp, was answered
// UNKNOWN_SERVER_ERROR; Kafka, reading both under one lock, answers the
// first record still there at or after the time.
func TestListOffsetsRecordDeletedUnderLookup(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "ts", 1, nil))
	r := dialRaw(t, addr)
	for _, ms := range []int64{1000, 2000, 3000} {
		resp := kmsg.NewPtrProduceResponse()
		resp.SetVersion(9)
		r.roundTrip(produceRequest("ts", 0, batchAt(ms, "v")), resp, true)
		require.Zero(t, resp.Topics[0].Partitions[0].ErrorCode)
	}
	deleted := false
	defer kafka.SetOffsetForTimeHook(func() {
		if !deleted { // the record found (offset 1) goes
			deleted = true
			require.NoError(t, b.DeleteRecords(ctx, "ts", 0, 2))
		}
	})()
	resp := kmsg.NewPtrListOffsetsResponse()
	resp.SetVersion(6)
	r.roundTrip(listOffsetsRequest("ts", 1500, 6), resp, true)
	p := resp.Topics[0].Partitions[0]
	require.True(t, deleted)
	require.Zero(t, p.ErrorCode, kerr.ErrorForCode(p.ErrorCode))
	require.Equal(t, int64(2), p.Offset)
	require.Equal(t, int64(3000), p.Timestamp)
}

// listOffsetsRequest asks for partition 0 of topic at timestamp ts.
func listOffsetsRequest(topic string, ts int64, version int16) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(version)
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp = ts
	lt.Partitions = append(lt.Partitions, lp)
	req.Topics = append(req.Topics, lt)
	return req
}

func fetchReq(topic string, parts int32, offset int64, maxBytes, partMax, minBytes, waitMs int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(11)
	req.MaxWaitMillis, req.MaxBytes, req.MinBytes = waitMs, maxBytes, minBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	for p := range parts {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes, rp.FetchOffset = p, partMax, offset
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// A client that sends a large fetch and then a produce on one connection,
// and does not read its answers, keeps the produce's wait (which holds the
// partition open) queued behind a blocked socket write. Deleting the topic
// then blocks, and so does every other client's append to the partition.
func TestSlowReaderDoesNotBlockPartition(t *testing.T) {
	b, addr := serve(t, nil) // SyncAlways
	require.NoError(t, b.CreateTopic(ctx, "big", 1, nil))
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	value := make([]byte, 512<<10)
	for range 64 { // 32 MB: far more than the socket buffers
		_, err := b.Append(ctx, "big", 0, cairn.Record{Value: value})
		require.NoError(t, err)
	}
	r := dialRaw(t, addr)
	r.send(encode(fetchReq("big", 1, 0, 64<<20, 64<<20, 0, 0), 1))
	r.send(encode(produceRequest("t", 0, batch("x")), 2))
	time.Sleep(500 * time.Millisecond) // the produce is appended; its wait is queued

	deleted := make(chan error, 1)
	go func() { deleted <- b.DeleteTopic(ctx, "t") }()
	appended := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, err := b.Append(ctx, "t", 0, cairn.Record{Value: []byte("other client")})
		appended <- err
	}()
	var delErr, appErr error
	select {
	case delErr = <-deleted:
	case <-time.After(3 * time.Second):
		t.Errorf("DeleteTopic still blocked after 3s by a connection that does not read")
	}
	select {
	case appErr = <-appended:
	case <-time.After(3 * time.Second):
		t.Errorf("another append to the partition still blocked after 3s")
	}
	t.Log(delErr, appErr)
	r.c.Close() // unblocks everything so the test can clean up
}

// Only the first non-empty partition may exceed the limits (KIP-74); a
// later partition gets no more than what is left of MaxBytes.
func TestFetchMaxBytesAfterFirstPartition(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "m", 3, nil))
	value := make([]byte, 600)
	for p := range int32(3) {
		_, err := b.Append(ctx, "m", p, cairn.Record{Value: value})
		require.NoError(t, err)
	}
	r := dialRaw(t, addr)
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	r.roundTrip(fetchReq("m", 3, 0, 1000, 1<<20, 0, 0), resp, false)
	total := 0
	for _, p := range resp.Topics[0].Partitions {
		t.Logf("partition %d: %d bytes", p.Partition, len(p.RecordBatches))
		total += len(p.RecordBatches)
	}
	require.LessOrEqual(t, total, 1000, "MaxBytes 1000")
}

// A long-poll fetch whose client has gone keeps its connection's
// goroutines (and 128 KB of buffers) until MaxWaitMillis, which the client
// chooses (up to 24.8 days).
func TestLongPollOfClosedConnectionEnds(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "lp", 1, nil))
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range 50 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		frame := encode(fetchReq("lp", 1, 0, 1<<20, 1<<20, 1, math.MaxInt32), 1)
		_, err = c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(frame))), frame...))
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		c.Close()
	}
	time.Sleep(2 * time.Second)
	after := runtime.NumGoroutine()
	t.Logf("goroutines: %d before, %d two seconds after 50 clients closed", before, after)
	require.Less(t, after-before, 10)
}

// Kafka refuses acks other than 0, 1 and -1 with INVALID_REQUIRED_ACKS and
// appends nothing.
func TestProduceInvalidAcks(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "acks", 1, nil))
	r := dialRaw(t, addr)
	req := produceRequest("acks", 0, batch("x"))
	req.Acks = 2
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(9)
	r.roundTrip(req, resp, true)
	_, hwm, err := b.Watermarks("acks", 0)
	require.NoError(t, err)
	t.Logf("error code %d, high watermark %d", resp.Topics[0].Partitions[0].ErrorCode, hwm)
	require.Equal(t, kerr.InvalidRequiredAcks.Code, resp.Topics[0].Partitions[0].ErrorCode)
	require.Zero(t, hwm)
}

// A client that pipelines fetches without reading the answers makes the
// server hold up to 32 full answers per connection (Kafka reads the next
// request of a connection only once the previous answer is sent, and caps
// an answer at fetch.max.bytes).
func TestPipelinedFetchMemory(t *testing.T) {
	b, addr := serveDurability(t, cairn.NoSync, nil)
	require.NoError(t, b.CreateTopic(ctx, "mem", 1, nil))
	value := make([]byte, 512<<10)
	for range 8 { // 4 MB
		_, err := b.Append(ctx, "mem", 0, cairn.Record{Value: value})
		require.NoError(t, err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := dialRaw(t, addr)
	frame := encode(fetchReq("mem", 1, 0, 64<<20, 64<<20, 0, 0), 1)
	for range 40 {
		r.send(frame)
	}
	time.Sleep(2 * time.Second)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use grew by %d MB for one connection that does not read", grown>>20)
	require.Less(t, grown, int64(32<<20))
}

// ListOffsets v7 exists for timestamp -3, the record with the largest
// timestamp (KIP-734), which is not served: v7 is not advertised, and a
// v7 request is refused like any version that is not (the connection
// closes), rather than answered UNSUPPORTED_VERSION for the very query it
// was made for.
func TestListOffsetsMaxTimestamp(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	av := kmsg.NewPtrApiVersionsRequest()
	av.SetVersion(3)
	avr := kmsg.NewPtrApiVersionsResponse()
	avr.SetVersion(3)
	r.roundTrip(av, avr, false)
	for _, k := range avr.ApiKeys {
		if k.ApiKey == kmsg.ListOffsets.Int16() {
			require.Equal(t, int16(6), k.MaxVersion)
		}
	}
	r.send(encode(listOffsetsRequest("mx", -3, 7), 2))
	r.expectClosed()
}

// Kafka reads a connection's next request only after answering the
// previous one, so a ListOffsets pipelined after an acknowledged produce
// sees it. (It was answered from before the produce's fsync, while its
// answer came after the produce's success: 159 of 200 missed it.)
func TestPipelinedReadYourWrites(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "ryw", 1, nil))
	r := dialRaw(t, addr)
	lo := listOffsetsRequest("ryw", -1, 6)
	stale := 0
	for i := range 200 {
		r.send(encode(produceRequest("ryw", 0, batch("x")), int32(2*i)))
		r.send(encode(lo, int32(2*i+1)))
		pr := kmsg.NewPtrProduceResponse()
		pr.SetVersion(9)
		readResp(t, r, pr, true)
		lr := kmsg.NewPtrListOffsetsResponse()
		lr.SetVersion(6)
		readResp(t, r, lr, true)
		require.Zero(t, pr.Topics[0].Partitions[0].ErrorCode)
		if lr.Topics[0].Partitions[0].Offset <= pr.Topics[0].Partitions[0].BaseOffset {
			stale++
		}
	}
	t.Logf("%d of 200 ListOffsets answered after an acknowledged produce did not include it", stale)
	require.Zero(t, stale)
}

func readResp(t *testing.T, r *rawConn, resp kmsg.Response, flex bool) {
	var size [4]byte
	_, err := io.ReadFull(r.c, size[:])
	require.NoError(t, err)
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err = io.ReadFull(r.c, body)
	require.NoError(t, err)
	body = body[4:]
	if flex {
		body = body[1:]
	}
	require.NoError(t, resp.ReadFrom(body))
}

// Kafka answers UNKNOWN_TOPIC_OR_PARTITION for a commit to a partition
// that does not exist, and stores nothing for it.
func TestOffsetCommitUnknownTopic(t *testing.T) {
	b, addr := serve(t, nil)
	r := dialRaw(t, addr)
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(8)
	req.Group, req.Generation = "g", -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "no-such-topic"
	for p := range int32(3) {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = p+1000, 5
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrOffsetCommitResponse()
	resp.SetVersion(8)
	r.roundTrip(req, resp, true)
	got, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	t.Logf("code %d, stored %v", resp.Topics[0].Partitions[0].ErrorCode, got)
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, resp.Topics[0].Partitions[0].ErrorCode)
}

// An acks=0 produce has no answer: one that fails closes the connection,
// as Kafka does, so the client learns of it; one that succeeds keeps it.
func TestProduceAcksZeroErrorClosesConnection(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "z", 1, nil))
	r := dialRaw(t, addr)
	ok := produceRequest("z", 0, batch("x"))
	ok.Acks = 0
	r.send(encode(ok, 1))
	resp := kmsg.NewPtrProduceResponse() // a request after it is answered: the connection stays
	resp.SetVersion(9)
	r.roundTrip(produceRequest("z", 0, batch("y")), resp, true)
	require.Zero(t, resp.Topics[0].Partitions[0].ErrorCode)
	require.Equal(t, int64(1), resp.Topics[0].Partitions[0].BaseOffset, "the acks=0 record came first")

	bad := produceRequest("no-such-topic", 0, batch("x"))
	bad.Acks = 0
	r.send(encode(bad, 3))
	r.expectClosed()
}

// OffsetForLeaderEpoch answers an error with the undefined epoch and end
// offset (-1, -1), as Kafka does; it answered epoch 0.
func TestOffsetForLeaderEpochErrorUndefined(t *testing.T) {
	_, addr := serve(t, nil)
	r := dialRaw(t, addr)
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.SetVersion(3)
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = "missing"
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.CurrentLeaderEpoch, rp.LeaderEpoch = -1, 0
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrOffsetForLeaderEpochResponse()
	resp.SetVersion(3)
	r.roundTrip(req, resp, false)
	p := resp.Topics[0].Partitions[0]
	require.Equal(t, kerr.UnknownTopicOrPartition.Code, p.ErrorCode)
	require.Equal(t, int32(-1), p.LeaderEpoch)
	require.Equal(t, int64(-1), p.EndOffset)
}
