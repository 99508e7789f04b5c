package kafka

import (
	"context"
	"errors"
	"os"
	"reflect"
	"slices"
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
	if req.Version >= 7 && req.SessionID != 0 && req.SessionEpoch > 0 {
		// An incremental fetch in a session this broker never opened.
		// Epoch 0 or -1 is a full fetch, which closes any session it
		// names, as in Kafka's FetchManager: it is served.
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return resp, nil
	}
	select { // one answer of this connection's at a time: see conn.fetching
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	buf := fetchBufs.Get().(*[]byte)
	c.afterWrite(func() {
		putFetchBuf(buf)
		<-c.fetching
	})
	deadline := time.Now().Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	if !asksPartitions(req) {
		deadline = time.Now() // nothing to wait for: answered at once, as Kafka does
	}
	for {
		chans := c.s.changed(req)
		*buf = (*buf)[:0] // an answer not sent: its batches are not needed
		resp, bytes, failed := c.s.fetchOnce(ctx, req, buf)
		if bytes >= int(req.MinBytes) || failed || !time.Now().Before(deadline) {
			return resp, nil
		}
		gone, stop := c.watchClose()
		woken := waitAny(ctx, chans, deadline, gone)
		stop()
		if !woken {
			return resp, nil // the server is closing, or the client is gone
		}
	}
}

// watchClose reports, on gone, the client closing the connection while a
// long poll waits: the request's goroutine is then not reading, and
// without this a client gone for good kept it (and the connection's
// buffers) until MaxWaitMillis, which the client picks, up to 24 days.
// It reads ahead (a pipelined request stays in the reader's buffer); stop
// ends the watch and must be called before the connection is read again.
func (c *conn) watchClose() (gone <-chan struct{}, stop func()) {
	if c.nc == nil { // ServeFrame's connection, which no client holds
		return nil, func() {}
	}
	ch, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.r.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			close(ch) // EOF, reset: nobody is left to answer
		}
	}()
	return ch, func() {
		_ = c.nc.SetReadDeadline(time.Now()) // unblocks the Peek
		<-done
		_ = c.nc.SetReadDeadline(time.Time{})
	}
}

// asksPartitions reports whether req asks for any partition.
func asksPartitions(req *kmsg.FetchRequest) bool {
	for _, t := range req.Topics {
		if len(t.Partitions) > 0 {
			return true
		}
	}
	return false
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
	if req.Version < 3 || maxBytes <= 0 || maxBytes > s.opts.MaxFetchBytes {
		maxBytes = s.opts.MaxFetchBytes
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
				rp = s.watermarksOnly(rp, t.Topic, p.FetchOffset)
				failed = failed || rp.ErrorCode != 0
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			start := len(*buf)
			f, grown, err := s.b.FetchInto(ctx, *buf, t.Topic, p.Partition, p.FetchOffset, max(limit, 0))
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = f.HighWatermark, f.HighWatermark, f.LogStart
			if err != nil {
				rp.ErrorCode = partitionCode(err)
				failed = true
				var oe *cairn.OffsetError
				if errors.As(err, &oe) {
					rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = oe.HighWatermark, oe.HighWatermark, oe.LogStart
				}
			}
			if total > 0 {
				// Only the first partition with data may go over the
				// limits, by its first batch (KIP-74): later ones get what
				// fits in what is left.
				n, kept := 0, 0
				for _, b := range f.Batches {
					if n+b.Len() > limit {
						break
					}
					n, kept = n+b.Len(), kept+1
				}
				f.Batches = f.Batches[:kept]
				if unsafe.SliceData(grown) == unsafe.SliceData(*buf) {
					grown = grown[:start+n] // the room of the batches left out is reused
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

// watermarksOnly answers a partition left out by the request's byte limit,
// with OFFSET_OUT_OF_RANGE for a fetch offset outside the log, as a read
// would (Kafka checks the offset whatever the bytes left).
func (s *Server) watermarksOnly(rp kmsg.FetchResponseTopicPartition, topic string, offset int64) kmsg.FetchResponseTopicPartition {
	start, hwm, err := s.b.Watermarks(topic, rp.Partition)
	rp.ErrorCode = partitionCode(err)
	if err == nil && (offset < start || offset > hwm) {
		rp.ErrorCode = kerr.OffsetOutOfRange.Code
	}
	rp.RecordBatches = []byte{}
	rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = hwm, hwm, start
	return rp
}

// maxSelectChans bounds the partition channels one reflect.Select waits
// on: it panics past 65536 cases, three of which are waitAny's own.
const maxSelectChans = 1 << 15

// waitAny waits for a channel, the deadline, ctx or gone; false means
// ctx ended or gone was closed.
func waitAny(ctx context.Context, chans []<-chan struct{}, deadline time.Time, gone <-chan struct{}) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	if len(chans) > maxSelectChans {
		// A request may name a partition many times, and a topic may
		// have up to 65536 partitions: wait on the distinct channels,
		// in groups that each have a goroutine.
		seen := make(map[<-chan struct{}]struct{}, len(chans))
		distinct := chans[:0:0]
		for _, ch := range chans {
			if _, ok := seen[ch]; !ok {
				seen[ch] = struct{}{}
				distinct = append(distinct, ch)
			}
		}
		chans = distinct
	}
	if len(chans) > maxSelectChans {
		woke, quit := make(chan struct{}), make(chan struct{})
		var once sync.Once
		var wg sync.WaitGroup
		defer func() { close(quit); wg.Wait() }() // none outlives the wait
		for group := range slices.Chunk(chans, maxSelectChans) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(quit)}}
				for _, ch := range group {
					cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
				}
				if chosen, _, _ := reflect.Select(cases); chosen > 0 {
					once.Do(func() { close(woke) })
				}
			}()
		}
		chans = []<-chan struct{}{woke}
	}
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(gone)},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.C)},
	}
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen > 1
}
