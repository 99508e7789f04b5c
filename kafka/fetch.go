package kafka

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/cairnlog/cairn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleFetch serves stored batches without re-encoding them. It waits up
// to MaxWaitMillis for MinBytes, woken by appends to the requested
// partitions (no polling). Fetch sessions are answered as "no session"
// (session id 0), so clients send full requests.
//
// The batches are copied out of Pebble into one pooled buffer, which goes
// back to the pool once the answer is written: a fetch allocated its
// bytes twice (a copy per batch, then one per partition joining them),
// megabytes per fetch for the GC to collect while the client decoded.
func handleFetch(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FetchRequest)
	if req.Version >= 7 && req.SessionID != 0 {
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return resp, nil
	}
	buf := fetchBufs.Get().(*[]byte)
	c.afterWrite(func() { putFetchBuf(buf) })
	deadline := time.Now().Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	for {
		chans := c.s.changed(req)
		*buf = (*buf)[:0] // an answer not sent: its batches are not needed
		resp, bytes, failed := c.s.fetchOnce(ctx, req, buf)
		if bytes >= int(req.MinBytes) || failed || !time.Now().Before(deadline) {
			return resp, nil
		}
		if !waitAny(ctx, chans, deadline) {
			return resp, nil // the server is closing
		}
	}
}

// changed returns the change channels of the requested partitions, taken
// before reading so that no append between read and wait is missed.
func (s *Server) changed(req *kmsg.FetchRequest) []<-chan struct{} {
	var out []<-chan struct{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			if ch, err := s.b.Changed(t.Topic, p.Partition); err == nil {
				out = append(out, ch)
			}
		}
	}
	return out
}

// fetchBufs holds the buffers fetches copy batches into (see handleFetch).
var fetchBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledFetch keeps an outsized fetch's buffer out of the pool.
const maxPooledFetch = 16 << 20

func putFetchBuf(buf *[]byte) {
	if cap(*buf) <= maxPooledFetch {
		*buf = (*buf)[:0]
		fetchBufs.Put(buf)
	}
}

// fetchOnce reads every requested partition once, copying batches into
// buf, which it extends (or replaces with a larger buffer). failed
// reports a partition error, which is answered at once.
func (s *Server) fetchOnce(ctx context.Context, req *kmsg.FetchRequest, buf *[]byte) (*kmsg.FetchResponse, int, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	total, failed := 0, false
	maxBytes := int(req.MaxBytes)
	if req.Version < 3 || maxBytes <= 0 {
		maxBytes = 1 << 30
	}
	for _, t := range req.Topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition = p.Partition
			rp.RecordBatches = []byte{} // empty, not null: librdkafka rejects null
			limit := min(int(p.PartitionMaxBytes), maxBytes-total)
			if total > 0 && limit <= 0 {
				rt.Partitions = append(rt.Partitions, s.watermarksOnly(rp, t.Topic))
				continue
			}
			start := len(*buf)
			f, grown, err := s.b.FetchInto(ctx, *buf, t.Topic, p.Partition, p.FetchOffset, max(limit, 0))
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = f.HighWatermark, f.HighWatermark, f.LogStart
			if err != nil {
				rp.ErrorCode = code(err)
				failed = true
				var oe *cairn.OffsetError
				if errors.As(err, &oe) {
					rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = oe.HighWatermark, oe.HighWatermark, oe.LogStart
				}
			}
			switch n := f.Bytes(); {
			case n == 0:
			case unsafe.SliceData(grown) == unsafe.SliceData(*buf):
				rp.RecordBatches = grown[start:len(grown):len(grown)] // the batches, one after another
				total += n
			default:
				// buf was too small: the first batches are in it, the
				// rest in the larger buffer, which later fetches use.
				rp.RecordBatches = make([]byte, 0, n)
				for _, b := range f.Batches {
					rp.RecordBatches = append(rp.RecordBatches, b.Bytes()...)
				}
				total += n
			}
			*buf = grown
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, total, failed
}

// watermarksOnly answers a partition left out by the request's byte limit.
func (s *Server) watermarksOnly(rp kmsg.FetchResponseTopicPartition, topic string) kmsg.FetchResponseTopicPartition {
	start, hwm, err := s.b.Watermarks(topic, rp.Partition)
	rp.ErrorCode = code(err)
	rp.RecordBatches = []byte{}
	rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = hwm, hwm, start
	return rp
}

// waitAny waits for a channel, the deadline, or ctx; false means ctx ended.
func waitAny(ctx context.Context, chans []<-chan struct{}, deadline time.Time) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.C)},
	}
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen != 0
}
