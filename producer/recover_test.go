package producer_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// R1: after the topic is deleted and created again, the partition has no
// state for the producer id, wants sequence 0, and every later batch fails
// with ErrOutOfOrderSequence: the producer never recovers.
func TestRecoverRecreatedTopic(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	p := newProducer(t, b, nil)
	require.NoError(t, p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("a")}).FirstErr())
	require.NoError(t, b.DeleteTopic(ctx, "t"))
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	failed := 0
	for i := range 3 {
		err := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte(fmt.Sprint(i))}).FirstErr()
		if err != nil {
			failed++
			t.Logf("produce %d after recreate: %v", i, err)
		}
	}
	require.Zero(t, failed)
}

// flaky loses the ack of stored appends (like gate) and, while down, fails
// InitProducerID too (a network outage hits both).
type flaky struct {
	*cairn.Broker
	down atomic.Bool
}

func (f *flaky) AppendLogBatchAsync(ctx context.Context, topic string, p int32, batch log.Batch) (int64, func() error, error) {
	base, wait, err := f.Broker.AppendLogBatchAsync(ctx, topic, p, batch)
	if err == nil && f.down.Load() {
		if err := callWait(wait); err != nil {
			return 0, nil, err
		}
		return 0, nil, errors.New("connection reset before the ack")
	}
	return base, wait, err
}

func (f *flaky) InitProducerID(ctx context.Context) (int64, int16, error) {
	if f.down.Load() {
		return 0, 0, errors.New("connection refused")
	}
	return f.Broker.InitProducerID(ctx)
}

// R2: a batch stored whose ack is lost through every retry, while
// InitProducerID fails too: the producer keeps the id and does not move
// the sequence, so the next batch reuses the stored batch's sequence and
// the partition "deduplicates" it: its promise succeeds but it is never
// stored.
func TestNoSequenceReuseAfterUnknownOutcome(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	f := &flaky{Broker: b}
	p := newProducer(t, f, &producer.Options{Retries: 1, RetryBackoff: time.Millisecond})
	f.down.Store(true)
	res := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("first")})
	require.Error(t, res.FirstErr()) // reported failed (it may be stored: fine)
	f.down.Store(false)
	res = p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("second")})
	require.NoError(t, res.FirstErr())
	got := readAll(t, b, "t", 0)
	var vals []string
	for _, r := range got {
		vals = append(vals, string(r.Value))
	}
	t.Logf("promise of \"second\": offset %d; stored: %q", res[0].Record.Offset, vals)
	require.Contains(t, vals, "second", "acknowledged record is stored")
}

// timeoutAck stores an append, then reports its transport's timeout.
type timeoutAck struct {
	*cairn.Broker
	n atomic.Int32
}

func (f *timeoutAck) AppendLogBatchAsync(ctx context.Context, topic string, p int32, batch log.Batch) (int64, func() error, error) {
	base, wait, err := f.Broker.AppendLogBatchAsync(ctx, topic, p, batch)
	if err == nil && f.n.Add(1) == 1 {
		if err := callWait(wait); err != nil {
			return 0, nil, err
		}
		return 0, nil, fmt.Errorf("produce request: %w", context.DeadlineExceeded)
	}
	return base, wait, err
}

// R5: context.DeadlineExceeded counts as permanent, so a batch that timed
// out after being stored neither moves the sequence nor takes a new id:
// the next batch of another size is refused as a duplicate, and so is
// every batch after it.
func TestRecoverTimeoutAfterStore(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	f := &timeoutAck{Broker: b}
	p := newProducer(t, f, nil)
	require.Error(t, p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("a")},
		&producer.Record{Topic: "t", Value: []byte("b")}).FirstErr())
	failed := 0
	for i := range 3 {
		if err := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			failed++
			t.Logf("produce %d: %v", i, err)
		}
	}
	require.Zero(t, failed)
}

// epochBump is a broker whose InitProducerID keeps the id and bumps the
// epoch (as Kafka's does for a known producer); appends fail, unstored,
// while down.
type epochBump struct {
	*cairn.Broker
	epoch atomic.Int32
	down  atomic.Bool
}

func (e *epochBump) InitProducerID(context.Context) (int64, int16, error) {
	return 42, int16(e.epoch.Add(1) - 1), nil
}

func (e *epochBump) AppendLogBatchAsync(ctx context.Context, topic string, p int32, batch log.Batch) (int64, func() error, error) {
	if e.down.Load() {
		return 0, nil, errors.New("connection refused")
	}
	return e.Broker.AppendLogBatchAsync(ctx, topic, p, batch)
}

// R7: a new identity with the same id and a higher epoch does not restart
// the partition's sequence at 0 (part compares ids only): every batch after
// it is refused as out of order.
func TestEpochBumpRestartsSequence(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	e := &epochBump{Broker: b}
	p := newProducer(t, e, &producer.Options{Retries: 1, RetryBackoff: time.Millisecond})
	require.NoError(t, p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("a")}).FirstErr())
	e.down.Store(true)
	require.Error(t, p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("b")}).FirstErr())
	e.down.Store(false)
	err := p.ProduceSync(ctx, &producer.Record{Topic: "t", Value: []byte("c")}).FirstErr()
	require.NoError(t, err)
}

// failing refuses every append with an error that may be transient and
// counts the attempts.
type failing struct {
	*cairn.Broker
	attempts atomic.Int32
}

func (f *failing) AppendLogBatchAsync(context.Context, string, int32, log.Batch) (int64, func() error, error) {
	f.attempts.Add(1)
	return 0, nil, errors.New("connection refused")
}

// Retries sets how often a batch is sent again; -1 sends it once.
func TestRetries(t *testing.T) {
	for _, c := range []struct{ retries, attempts int32 }{{-1, 1}, {2, 3}} {
		f := &failing{Broker: newBroker(t, map[string]int{"t": 1})}
		p := newProducer(t, f, &producer.Options{Retries: int(c.retries), RetryBackoff: time.Millisecond})
		require.Error(t, p.ProduceSync(ctx, &producer.Record{Topic: "t"}).FirstErr())
		require.Equal(t, c.attempts, f.attempts.Load(), "Retries %d", c.retries)
	}
}

// gatedParts holds each partition's appends until its gate is closed.
type gatedParts struct {
	*cairn.Broker
	gates map[int32]chan struct{}
}

func (g gatedParts) AppendLogBatchAsync(ctx context.Context, topic string, p int32, b log.Batch) (int64, func() error, error) {
	<-g.gates[p]
	return g.Broker.AppendLogBatchAsync(ctx, topic, p, b)
}

// Flush waits for the records produced before it, not for an empty
// buffer: a record produced after Flush began, still buffered (its
// partition's appends are held), does not keep it waiting, and the
// records produced before are done when it returns. (It waited for an
// empty buffer, which a steady stream of Produce calls from other
// goroutines never leaves.)
func TestFlushWaitsForEarlierRecordsOnly(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	g := gatedParts{b, map[int32]chan struct{}{0: make(chan struct{}), 1: make(chan struct{})}}
	defer close(g.gates[1])
	p := newProducer(t, g, &producer.Options{Partitioner: producer.Manual()})
	var completed atomic.Int64
	for range 10 {
		p.Produce(ctx, &producer.Record{Topic: "t", Partition: 0, Value: []byte("before")}, func(*producer.Record, error) { completed.Add(1) })
	}
	flushed := make(chan error, 1)
	go func() {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		flushed <- p.Flush(fctx)
	}()
	for !producer.Waiting(p) { // Flush has taken its targets and waits
		time.Sleep(time.Millisecond)
	}
	p.Produce(ctx, &producer.Record{Topic: "t", Partition: 1, Value: []byte("after")}, nil)
	close(g.gates[0])
	require.NoError(t, <-flushed)
	require.Equal(t, int64(10), completed.Load())
}
