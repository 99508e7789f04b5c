package producer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func newBroker(t *testing.T, topics map[string]int) *cairn.Broker {
	t.Helper()
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	for name, n := range topics {
		require.NoError(t, b.CreateTopic(ctx, name, n, nil))
	}
	return b
}

func newProducer(t *testing.T, b producer.Broker, o *producer.Options) *producer.Producer {
	t.Helper()
	p, err := producer.New(ctx, b, o)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close(ctx) })
	return p
}

func readAll(t *testing.T, b *cairn.Broker, topic string, part int32) []cairn.Record {
	t.Helper()
	recs, err := b.Read(ctx, topic, part, 0, 1<<30)
	require.NoError(t, err)
	return recs
}

func TestProduceSync(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 4})
	// A linger of an hour: ProduceSync must not wait it out.
	p := newProducer(t, b, &producer.Options{Linger: time.Hour})
	var recs []*producer.Record
	for i := 0; i < 20; i++ {
		recs = append(recs, &producer.Record{Topic: "t", Key: []byte(fmt.Sprint("k", i%5)), Value: []byte(fmt.Sprint(i))})
	}
	res := p.ProduceSync(ctx, recs...)
	require.NoError(t, res.FirstErr())
	perPart := map[int32]int64{}
	for i, r := range res {
		require.Same(t, recs[i], r.Record)
		require.Equal(t, producer.KeyPartition(r.Record.Key, 4), r.Record.Partition)
		require.Equal(t, perPart[r.Record.Partition], r.Record.Offset, "offsets dense per partition in produce order")
		perPart[r.Record.Partition]++
	}
	for part, n := range perPart {
		got := readAll(t, b, "t", part)
		require.Len(t, got, int(n))
	}
}

// Many goroutines producing to one partition: offsets dense, every record
// exactly once, each goroutine's records in its order. With small batches
// the sender copies batches out of the pending array while Produce
// appends to it and grows it.
func TestConcurrentProduceOnePartition(t *testing.T) {
	for _, o := range []*producer.Options{nil, {BatchBytes: 300}} {
		concurrentProduceOnePartition(t, o)
	}
}

func concurrentProduceOnePartition(t *testing.T, o *producer.Options) {
	b := newBroker(t, map[string]int{"t": 1})
	p := newProducer(t, b, o)
	const writers, each = 8, 500
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte(fmt.Sprintf("%d-%d", w, i))},
					func(_ *producer.Record, err error) {
						if err != nil {
							failed.Add(1)
						}
					})
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Flush(ctx))
	require.Zero(t, failed.Load())
	got := readAll(t, b, "t", 0)
	require.Len(t, got, writers*each)
	next := make([]int, writers)
	for i, r := range got {
		require.Equal(t, int64(i), r.Offset)
		var w, n int
		_, err := fmt.Sscanf(string(r.Value), "%d-%d", &w, &n)
		require.NoError(t, err)
		require.Equal(t, next[w], n, "writer %d out of order or duplicated", w)
		next[w]++
	}
}

// More than a batch pending: the sender sends the pending records a
// batch at a time, from the front, while Produce keeps adding. Every
// record is stored once, in order, each promise gets its record's
// offset, and no stored batch is over the producer's batch size.
func TestManyBatchesPending(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	const maxBatch = 2_000
	for _, linger := range []time.Duration{0, time.Hour} { // sent as they come, or all at Flush
		p := newProducer(t, b, &producer.Options{MaxBatchBytes: maxBatch, Linger: linger})
		_, start, err := b.Watermarks("t", 0) // the high watermark: where this round begins
		require.NoError(t, err)
		const n = 5_000
		offsets := make([]int64, n)
		for i := range n {
			p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte(fmt.Sprint(i))}, func(r *producer.Record, err error) {
				if err != nil {
					offsets[i] = -1
					return
				}
				offsets[i] = r.Offset
			})
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a lost record fails here, not at the test timeout
		require.NoError(t, p.Flush(fctx))
		cancel()
		for i, off := range offsets {
			require.Equal(t, start+int64(i), off, "linger %v: record %d", linger, i)
		}
		f, err := b.Fetch(ctx, "t", 0, start, 1<<30)
		require.NoError(t, err)
		require.Greater(t, len(f.Batches), n/100, "linger %v: sent in many batches", linger)
		for _, batch := range f.Batches {
			require.LessOrEqual(t, batch.Len(), maxBatch)
		}
		recs, _, err := f.Records(start)
		require.NoError(t, err)
		require.Len(t, recs, n)
		for i, r := range recs {
			require.Equal(t, fmt.Sprint(i), string(r.Value), "linger %v", linger)
		}
		require.NoError(t, p.Close(ctx))
	}
}

// A batch is sent once it reaches BatchBytes, without waiting out the
// linger; a record larger than BatchBytes (but within MaxBatchBytes) goes
// alone. The default BatchBytes follows a smaller MaxBatchBytes.
func TestBatchBytes(t *testing.T) {
	// Without sync no batch waits to be durable, so none grows past
	// BatchBytes (see TestBatchGrowsWhileSyncing).
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem(), Durability: cairn.NoSync})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	p := newProducer(t, b, &producer.Options{BatchBytes: 1000, Linger: time.Hour})
	sent := make(chan error, 20)
	for i := range 20 { // about 2,400 bytes: two full batches and some
		p.Produce(ctx, &producer.Record{Topic: "t", Value: make([]byte, 100)}, func(_ *producer.Record, err error) { sent <- err })
		if i == 0 {
			// Let the sender see the first record and start lingering, so
			// that only a full batch can wake it.
			time.Sleep(20 * time.Millisecond)
		}
	}
	for range 16 { // the first two batches go without Flush, within the hour's linger
		select {
		case err := <-sent:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("full batches waited for the linger")
		}
	}
	res := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: make([]byte, 5000)})
	require.NoError(t, res.FirstErr())
	f, err := b.Fetch(ctx, "t", 0, 0, 1<<30)
	require.NoError(t, err)
	var sizes []int
	for _, batch := range f.Batches {
		sizes = append(sizes, batch.NumRecords())
		if batch.NumRecords() > 1 {
			require.LessOrEqual(t, batch.Len(), 1000)
		}
	}
	require.Equal(t, 1, sizes[len(sizes)-1], "the large record goes alone: %v", sizes)
	recs := readAll(t, b, "t", 0)
	require.Len(t, recs, 21)
	require.Len(t, recs[20].Value, 5000)

	small := newProducer(t, b, &producer.Options{MaxBatchBytes: 500}) // BatchBytes follows it down
	require.ErrorIs(t, small.ProduceSync(ctx, &producer.Record{Topic: "t", Value: make([]byte, 600)}).FirstErr(), cairn.ErrMessageTooLarge)
	require.NoError(t, small.ProduceSync(ctx, &producer.Record{Topic: "t", Value: make([]byte, 400)}).FirstErr())
}

func TestCompression(t *testing.T) {
	for c := log.None; c <= log.Zstd; c++ {
		t.Run(c.String(), func(t *testing.T) {
			b := newBroker(t, map[string]int{"t": 1})
			p := newProducer(t, b, &producer.Options{Compression: c})
			recs := make([]*producer.Record, 50)
			for i := range recs {
				recs[i] = &producer.Record{Topic: "t", Value: []byte(fmt.Sprintf("value %d of fifty", i))}
			}
			require.NoError(t, p.ProduceSync(ctx, recs...).FirstErr())
			f, err := b.Fetch(ctx, "t", 0, 0, 1<<20)
			require.NoError(t, err)
			for _, batch := range f.Batches {
				require.Equal(t, c, batch.Codec())
			}
			got := readAll(t, b, "t", 0)
			require.Len(t, got, 50)
			require.Equal(t, "value 49 of fifty", string(got[49].Value))
		})
	}
}

// gate is a broker whose appends wait until released, and which can lose
// the acknowledgement of stored batches.
type gate struct {
	*cairn.Broker
	hold     chan struct{}
	loseAcks atomic.Int32 // this many appends are stored, then fail
	appends  atomic.Int32
}

// AppendLogBatchAsync (the path the producer takes with a cairn.Broker)
// holds and loses acknowledgements; AppendLogBatch does the same through
// it.
func (g *gate) AppendLogBatchAsync(ctx context.Context, topic string, p int32, batch log.Batch) (int64, func() error, error) {
	g.appends.Add(1)
	if g.hold != nil {
		<-g.hold
	}
	base, wait, err := g.Broker.AppendLogBatchAsync(ctx, topic, p, batch)
	if err == nil && g.loseAcks.Add(-1) >= 0 {
		if err := callWait(wait); err != nil {
			return 0, nil, err
		}
		return 0, nil, errors.New("connection reset before the ack")
	}
	return base, wait, err
}

func (g *gate) AppendLogBatch(ctx context.Context, topic string, p int32, batch log.Batch) (int64, error) {
	base, wait, err := g.AppendLogBatchAsync(ctx, topic, p, batch)
	if err == nil {
		err = callWait(wait)
	}
	return base, err
}

// callWait calls an async append's wait, which is nil when there is
// nothing to wait for.
func callWait(wait func() error) error {
	if wait == nil {
		return nil
	}
	return wait()
}

// syncOnly hides a broker's AppendLogBatchAsync: the producer then waits
// for each append in its sender.
type syncOnly struct{ producer.Broker }

func TestBackpressure(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	g := &gate{Broker: b, hold: make(chan struct{})}
	p := newProducer(t, g, &producer.Options{MaxBufferedRecords: 3, FailFast: true})
	var done sync.WaitGroup
	for i := 0; i < 3; i++ {
		done.Add(1)
		p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("x")}, func(_ *producer.Record, err error) {
			require.NoError(t, err)
			done.Done()
		})
	}
	errc := make(chan error, 1)
	p.Produce(ctx, &producer.Record{Topic: "t"}, func(_ *producer.Record, err error) { errc <- err })
	require.ErrorIs(t, <-errc, producer.ErrBufferFull)

	// Without FailFast, Produce blocks until ctx ends.
	p2 := newProducer(t, g, &producer.Options{MaxBufferedRecords: 1})
	p2.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("y")}, nil)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	p2.Produce(short, &producer.Record{Topic: "t"}, func(_ *producer.Record, err error) { errc <- err })
	require.ErrorIs(t, <-errc, context.DeadlineExceeded)

	close(g.hold)
	done.Wait()
	require.NoError(t, p2.Flush(ctx))
	require.Len(t, readAll(t, b, "t", 0), 4)
}

// A batch stored by the broker whose acknowledgement is lost is retried
// with the same sequence and not appended twice.
func TestIdempotentRetryNoDuplicate(t *testing.T) {
	for _, async := range []bool{true, false} {
		b := newBroker(t, map[string]int{"t": 1})
		g := &gate{Broker: b}
		g.loseAcks.Store(2)
		var pb producer.Broker = g
		if !async {
			pb = syncOnly{g}
		}
		p := newProducer(t, pb, nil)
		res := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("once")})
		require.NoError(t, res.FirstErr())
		require.Equal(t, int64(0), res[0].Record.Offset)
		require.Equal(t, int32(3), g.appends.Load(), "async %v: two lost acks, then success", async)
		require.NoError(t, p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("next")}).FirstErr())
		got := readAll(t, b, "t", 0)
		require.Len(t, got, 2)
		require.Equal(t, "once", string(got[0].Value))
		require.Equal(t, "next", string(got[1].Value))
	}

	// Without idempotence the same loss duplicates: the guard is real.
	b2 := newBroker(t, map[string]int{"t": 1})
	g2 := &gate{Broker: b2}
	g2.loseAcks.Store(1)
	p2 := newProducer(t, g2, &producer.Options{DisableIdempotence: true})
	require.NoError(t, p2.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("twice")}).FirstErr())
	require.Len(t, readAll(t, b2, "t", 0), 2)
}

func TestSplitsBatchesTheTopicRefuses(t *testing.T) {
	b := newBroker(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "small", 1, cairn.TopicConfig{"max.message.bytes": "1000"}))
	p := newProducer(t, b, &producer.Options{Linger: time.Hour})
	var recs []*producer.Record
	for i := 0; i < 40; i++ {
		recs = append(recs, &producer.Record{Topic: "small", Value: make([]byte, 100)})
	}
	require.NoError(t, p.ProduceSync(ctx, recs...).FirstErr())
	require.Len(t, readAll(t, b, "small", 0), 40)
	// One record over the topic's limit fails alone.
	res := p.ProduceSync(ctx, &producer.Record{Topic: "small", Value: make([]byte, 2000)},
		&producer.Record{Topic: "small", Value: []byte("fits")})
	require.ErrorIs(t, res[0].Err, cairn.ErrMessageTooLarge)
	require.NoError(t, res[1].Err)
}

func TestBadInput(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	_, err := producer.New(ctx, b, &producer.Options{Linger: -time.Second})
	require.ErrorIs(t, err, cairn.ErrInvalidArgument)
	_, err = producer.New(ctx, b, &producer.Options{Compression: 9})
	require.ErrorIs(t, err, cairn.ErrUnknownCodec)
	for _, o := range []producer.Options{{MaxBufferedRecords: 1 << 23}, {MaxBufferedRecords: -1}, {Retries: -2}, {RetryBackoff: -1}} {
		_, err = producer.New(ctx, b, &o)
		require.ErrorIs(t, err, cairn.ErrInvalidArgument, "%+v", o)
	}
	for _, n := range []int{-1, 6} {
		_, err = producer.New(ctx, b, &producer.Options{MaxInFlight: n})
		require.ErrorIs(t, err, cairn.ErrInvalidArgument, "max in flight %d", n)
	}
	for _, o := range []producer.Options{{BatchBytes: -1}, {BatchBytes: 2_000_000}, {BatchBytes: 2000, MaxBatchBytes: 1000}} {
		_, err = producer.New(ctx, b, &o)
		require.ErrorIs(t, err, cairn.ErrInvalidArgument, "batch bytes %d, max %d", o.BatchBytes, o.MaxBatchBytes)
	}

	p := newProducer(t, b, &producer.Options{Partitioner: producer.Manual(), MaxBatchBytes: 1000})
	res := p.ProduceSync(ctx,
		&producer.Record{Topic: "nope"},
		&producer.Record{Topic: "t", Partition: 2},
		&producer.Record{Topic: "t", Partition: -1},
		&producer.Record{Topic: "t", Value: make([]byte, 2000)},
		&producer.Record{Topic: "t", Headers: []cairn.Header{{Key: string(make([]byte, log.MaxHeaderKeyLen+1))}}},
		&producer.Record{Topic: "t", Partition: 1, Value: []byte("ok")},
		nil,
	)
	require.ErrorIs(t, res[0].Err, cairn.ErrUnknownTopic)
	require.ErrorIs(t, res[1].Err, cairn.ErrUnknownPartition)
	require.ErrorIs(t, res[2].Err, cairn.ErrUnknownPartition)
	require.ErrorIs(t, res[3].Err, cairn.ErrMessageTooLarge)
	require.ErrorIs(t, res[4].Err, cairn.ErrInvalidHeader)
	require.NoError(t, res[5].Err)
	require.ErrorIs(t, res[6].Err, cairn.ErrInvalidArgument)
	require.Equal(t, int64(1), res[5].Record.Offset+1)
	require.Empty(t, readAll(t, b, "t", 0), "failed records stored nothing")

	require.NoError(t, p.Close(ctx))
	res = p.ProduceSync(ctx, &producer.Record{Topic: "t", Partition: 0})
	require.ErrorIs(t, res.FirstErr(), cairn.ErrClosed)
}

func TestCloseFlushes(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 3})
	p, err := producer.New(ctx, b, &producer.Options{Linger: time.Hour, Partitioner: producer.RoundRobin()})
	require.NoError(t, err)
	var delivered atomic.Int32
	for i := 0; i < 30; i++ {
		p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("v")}, func(_ *producer.Record, err error) {
			require.NoError(t, err)
			delivered.Add(1)
		})
	}
	require.Zero(t, delivered.Load(), "lingering")
	require.NoError(t, p.Close(ctx))
	require.Equal(t, int32(30), delivered.Load())
	for part := int32(0); part < 3; part++ {
		require.Len(t, readAll(t, b, "t", part), 10)
	}
}

func TestPartitionsAddedLater(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	p := newProducer(t, b, &producer.Options{Partitioner: producer.Manual()})
	res := p.ProduceSync(ctx, &producer.Record{Topic: "t", Partition: 2})
	require.ErrorIs(t, res.FirstErr(), cairn.ErrUnknownPartition)
	require.NoError(t, b.CreatePartitions(ctx, "t", 3))
	require.NoError(t, p.ProduceSync(ctx, &producer.Record{Topic: "t", Partition: 2}).FirstErr())
}

func TestUserPartitioner(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 4})
	byLen := producer.PartitionerFunc(func(r *producer.Record, n int) int32 { return int32(len(r.Value) % n) })
	p := newProducer(t, b, &producer.Options{Partitioner: byLen})
	res := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("abc")}, &producer.Record{Topic: "t", Value: []byte("abcdef")})
	require.NoError(t, res.FirstErr())
	require.Equal(t, int32(3), res[0].Record.Partition)
	require.Equal(t, int32(2), res[1].Record.Partition)
	bad := newProducer(t, b, &producer.Options{Partitioner: producer.PartitionerFunc(func(*producer.Record, int) int32 { return 9 })})
	require.ErrorIs(t, bad.ProduceSync(ctx, &producer.Record{Topic: "t"}).FirstErr(), cairn.ErrUnknownPartition)
}

// Producers racing Close: every promise is called exactly once, a record
// is stored if and only if its promise got no error, the rest fail with
// ErrClosed, and no goroutine is left (TestMain checks).
func TestProduceRacingClose(t *testing.T) {
	for round := range 20 {
		b := newBroker(t, map[string]int{"t": 4})
		p, err := producer.New(ctx, b, &producer.Options{Partitioner: producer.RoundRobin()})
		require.NoError(t, err)
		var ok, failed atomic.Int32
		var calls [8][200]atomic.Int32
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("v")}, func(_ *producer.Record, err error) {
						calls[g][i].Add(1)
						if err == nil {
							ok.Add(1)
						} else {
							require.ErrorIs(t, err, cairn.ErrClosed)
							failed.Add(1)
						}
					})
				}
			})
		}
		time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
		require.NoError(t, p.Close(ctx))
		wg.Wait()
		for g := range calls {
			for i := range calls[g] {
				require.Equal(t, int32(1), calls[g][i].Load(), "round %d: promise %d/%d", round, g, i)
			}
		}
		stored := 0
		for part := int32(0); part < 4; part++ {
			stored += len(readAll(t, b, "t", part))
		}
		require.Equal(t, int(ok.Load()), stored, "round %d", round)
		require.Equal(t, int32(8*200), ok.Load()+failed.Load())
	}
}

// Close with a context that ends first fails what is left with ErrClosed
// and still stops every sender.
func TestCloseContextEnds(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	g := &gate{Broker: b, hold: make(chan struct{})}
	p, err := producer.New(ctx, g, nil)
	require.NoError(t, err)
	errs := make(chan error, 11)
	produce := func() {
		p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("v")}, func(_ *producer.Record, err error) { errs <- err })
	}
	produce() // its batch is in flight, held by the gate
	require.Eventually(t, func() bool { return g.appends.Load() == 1 }, 5*time.Second, time.Millisecond)
	for range 9 {
		produce() // these wait behind it
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	go func() {
		<-cctx.Done() // not a fixed sleep: a stalled machine could open the gate before the deadline
		time.Sleep(30 * time.Millisecond)
		close(g.hold) // the append in flight returns after Close gave up
	}()
	require.ErrorIs(t, p.Close(cctx), context.DeadlineExceeded)
	// The append in flight had its ctx ended by Close: it is stored if
	// and only if its promise got no error.
	stored := 0
	if err := <-errs; err == nil {
		stored = 1
	} else {
		require.ErrorIs(t, err, cairn.ErrClosed, "the batch in flight")
	}
	for range 9 {
		require.ErrorIs(t, <-errs, cairn.ErrClosed, "records not yet appended fail")
	}
	require.Len(t, readAll(t, b, "t", 0), stored)
	p.Produce(ctx, &producer.Record{Topic: "t"}, func(_ *producer.Record, err error) { errs <- err })
	require.ErrorIs(t, <-errs, cairn.ErrClosed)
}

// A zero Timestamp is stamped when the record's batch is built: after the
// Produce call, before the promise, the same for every record of a batch,
// never going back within a partition, and stored as the record reads
// back. A timestamp the caller set is kept.
func TestTimestamps(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	p := newProducer(t, b, &producer.Options{MaxBatchBytes: 2_000})
	set := time.UnixMilli(1_700_000_000_123)
	const n = 600
	recs := make([]*producer.Record, n)
	for i := range recs {
		recs[i] = &producer.Record{Topic: "t", Value: []byte(fmt.Sprint(i))}
		if i%100 == 7 {
			recs[i].Timestamp = set
		}
	}
	before := time.Now()
	res := p.ProduceSync(ctx, recs...)
	after := time.Now()
	require.NoError(t, res.FirstErr())
	stored := readAll(t, b, "t", 0)
	require.Len(t, stored, n)
	var last time.Time
	for i, r := range recs {
		require.Equal(t, stored[i].Timestamp.UnixMilli(), r.Timestamp.UnixMilli(), "record %d reads back with its stamp", i)
		if i%100 == 7 {
			require.True(t, set.Equal(r.Timestamp), "record %d keeps the caller's timestamp", i)
			continue
		}
		require.False(t, r.Timestamp.Before(before) || r.Timestamp.After(after), "record %d stamped %v, outside [%v, %v]", i, r.Timestamp, before, after)
		require.False(t, r.Timestamp.Before(last), "record %d stamped before the one produced before it", i)
		last = r.Timestamp
	}
	f, err := b.Fetch(ctx, "t", 0, 0, 1<<30)
	require.NoError(t, err)
	require.Greater(t, len(f.Batches), 5, "sent in many batches")
}

// blockingBroker holds its first append until release is closed, and
// keeps the values of every batch it is given, in order.
type blockingBroker struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	values  []string
	first   bool
}

func (b *blockingBroker) PartitionCount(string) (int, error) { return 1, nil }

func (b *blockingBroker) InitProducerID(context.Context) (int64, int16, error) { return 7, 0, nil }

func (b *blockingBroker) AppendLogBatch(_ context.Context, _ string, _ int32, batch log.Batch) (int64, error) {
	b.mu.Lock()
	first := !b.first
	b.first = true
	b.mu.Unlock()
	if first {
		close(b.started)
		<-b.release
	}
	recs, err := batch.Records(nil)
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	base := int64(len(b.values))
	for _, r := range recs {
		b.values = append(b.values, string(r.Value))
	}
	return base, nil
}

// A partition's pending records grow, and later move to the front of their
// array, while the sender holds a batch taken from that array: every
// record is sent once, in order, with its offset.
func TestPendingGrowsWhileSending(t *testing.T) {
	br := &blockingBroker{started: make(chan struct{}), release: make(chan struct{})}
	p := newProducer(t, br, &producer.Options{MaxBatchBytes: 2_000})
	const n = 3_000
	offsets := make([]int64, n)
	produce := func(i int) {
		p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte(fmt.Sprint(i))}, func(r *producer.Record, err error) {
			if err != nil {
				offsets[i] = -1
				return
			}
			offsets[i] = r.Offset
		})
	}
	produce(0)
	<-br.started // the sender holds a batch of record 0
	for i := 1; i < n; i++ {
		produce(i) // the pending array grows several times meanwhile
	}
	close(br.release)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a lost record fails here
	defer cancel()
	require.NoError(t, p.Flush(fctx))
	require.Len(t, br.values, n)
	for i := range n {
		require.Equal(t, fmt.Sprint(i), br.values[i], "value at offset %d", i)
		require.Equal(t, int64(i), offsets[i], "offset of record %d", i)
	}
}

// cairn.Broker pipelines the producer's appends.
var _ producer.AsyncBroker = (*cairn.Broker)(nil)

// slowSync is a broker whose appends become durable only when the test
// says so, one at a time, in order; it counts the appends started and not
// yet durable.
type slowSync struct {
	*cairn.Broker
	mu       sync.Mutex
	waiting  int
	most     int
	durable  chan struct{} // a token makes the oldest waiting append durable
	inflight chan struct{} // signalled on every started append
	done     chan struct{} // closed: every append is durable at once
}

func (s *slowSync) AppendLogBatchAsync(ctx context.Context, topic string, p int32, batch log.Batch) (int64, func() error, error) {
	base, wait, err := s.Broker.AppendLogBatchAsync(ctx, topic, p, batch)
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	s.waiting++
	s.most = max(s.most, s.waiting)
	s.mu.Unlock()
	s.inflight <- struct{}{}
	return base, func() error {
		select {
		case <-s.durable:
		case <-s.done:
		}
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
		return callWait(wait)
	}, nil
}

// While a partition's batches all wait to be durable, the records that
// arrive meanwhile go out in one batch, past BatchBytes (up to
// MaxBatchBytes), to share the next sync.
func TestBatchGrowsWhileSyncing(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	m := &mixedWaits{Broker: b, release: make(chan struct{})}
	p := newProducer(t, m, &producer.Options{BatchBytes: 1000, MaxInFlight: 1})
	var done sync.WaitGroup
	produce := func() {
		done.Add(1)
		p.Produce(ctx, &producer.Record{Topic: "t", Value: make([]byte, 100)}, func(_ *producer.Record, err error) {
			require.NoError(t, err)
			done.Done()
		})
	}
	produce()
	require.Eventually(t, func() bool { return m.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	for range 30 { // about 3,700 bytes, while the first batch waits for its sync
		produce()
	}
	close(m.release)
	done.Wait()
	f, err := b.Fetch(ctx, "t", 0, 0, 1<<30)
	require.NoError(t, err)
	var counts []int
	for _, batch := range f.Batches {
		counts = append(counts, batch.NumRecords())
	}
	require.Equal(t, []int{1, 30}, counts)
}

// Batches of a partition keep appending while earlier ones wait to be
// durable, at most MaxInFlight at once, and their promises still run in
// order, each with its offset.
func TestPipelinedAppends(t *testing.T) {
	for _, limit := range []int{1, 3, 5} {
		b := newBroker(t, map[string]int{"t": 1})
		s := &slowSync{Broker: b, durable: make(chan struct{}), inflight: make(chan struct{}, 1000), done: make(chan struct{})}
		p := newProducer(t, s, &producer.Options{MaxInFlight: limit, MaxBatchBytes: 200})
		t.Cleanup(func() { close(s.done) }) // before the producer's Close, if the test fails early
		const n = 200
		order := produceNumbered(t, p, n)
		// With nothing durable yet, the sender starts limit appends, then waits.
		for range limit {
			<-s.inflight
		}
		select {
		case <-s.inflight:
			t.Fatalf("limit %d: an append beyond the limit started", limit)
		case <-time.After(20 * time.Millisecond):
		}
		require.Empty(t, order(), "limit %d: a promise ran before its batch was durable", limit)
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			for {
				select {
				case s.durable <- struct{}{}:
				case <-stop:
					return
				}
			}
		}()
		require.NoError(t, p.Flush(ctx))
		close(stop)
		<-stopped
		s.mu.Lock()
		require.Equal(t, limit, s.most, "limit %d: appends waiting at once", limit)
		s.mu.Unlock()
		requireDense(t, order(), n)
		got := readAll(t, b, "t", 0)
		require.Len(t, got, n)
		for i, r := range got {
			require.Equal(t, fmt.Sprintf("%03d", i), string(r.Value))
		}
	}
}

// Without sync an append is durable (as durable as it gets) on return, so
// the sender completes batches itself; with several partitions and
// goroutines every record still gets its offset, in order.
func TestNoSyncBroker(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem(), Durability: cairn.NoSync})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.CreateTopic(ctx, "t", 4, nil))
	p := newProducer(t, b, &producer.Options{Partitioner: producer.Manual(), MaxBatchBytes: 500})
	const perPart = 500
	var wg sync.WaitGroup
	offsets := make([][]int64, 4)
	for part := range 4 {
		offsets[part] = make([]int64, perPart)
		wg.Go(func() {
			for i := range perPart {
				rec := &producer.Record{Topic: "t", Partition: int32(part), Value: []byte(fmt.Sprint(i))}
				p.Produce(ctx, rec, func(r *producer.Record, err error) {
					if err != nil {
						offsets[part][i] = -1
						return
					}
					offsets[part][i] = r.Offset
				})
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Flush(ctx))
	for part := range 4 {
		got := readAll(t, b, "t", int32(part))
		require.Len(t, got, perPart)
		for i := range perPart {
			require.Equal(t, int64(i), offsets[part][i], "partition %d record %d", part, i)
			require.Equal(t, fmt.Sprint(i), string(got[i].Value))
		}
	}
}

// mixedWaits makes its first append wait for release and returns every
// later one already durable (a nil wait).
type mixedWaits struct {
	*cairn.Broker
	calls   atomic.Int32
	release chan struct{}
}

func (m *mixedWaits) AppendLogBatchAsync(ctx context.Context, topic string, p int32, batch log.Batch) (int64, func() error, error) {
	base, wait, err := m.Broker.AppendLogBatchAsync(ctx, topic, p, batch)
	if err != nil {
		return 0, nil, err
	}
	if m.calls.Add(1) == 1 {
		return base, func() error { <-m.release; return callWait(wait) }, nil
	}
	return base, nil, callWait(wait)
}

// A batch with nothing to wait for still completes after an earlier batch
// of its partition that is waiting: promises run in offset order.
func TestPromisesInOrderAcrossWaits(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	m := &mixedWaits{Broker: b, release: make(chan struct{})}
	p := newProducer(t, m, &producer.Options{MaxBatchBytes: 200})
	const n = 100
	order := produceNumbered(t, p, n)
	require.Eventually(t, func() bool { return m.calls.Load() > 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond) // later batches, with nothing to wait for, try to finish first
	close(m.release)
	require.NoError(t, p.Flush(ctx))
	requireDense(t, order(), n)
}

// produceNumbered produces n records to topic t with values "000",
// "001"...; the function it returns gives the offsets their promises
// reported, in the order the promises ran.
func produceNumbered(t *testing.T, p *producer.Producer, n int) func() []int64 {
	var mu sync.Mutex
	var order []int64
	for i := range n {
		p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte(fmt.Sprintf("%03d", i))}, func(r *producer.Record, err error) {
			require.NoError(t, err)
			mu.Lock()
			order = append(order, r.Offset)
			mu.Unlock()
		})
	}
	return func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(order)
	}
}

// requireDense checks that n promises ran, for offsets 0 to n-1 in order.
func requireDense(t *testing.T, order []int64, n int) {
	t.Helper()
	require.Len(t, order, n)
	for i, off := range order {
		require.Equal(t, int64(i), off, "promise %d", i)
	}
}
