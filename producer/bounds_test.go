package producer_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// hungBroker's appends never complete on their own: they return only when
// their ctx ends (or the test releases them), as a transport whose peer
// stopped answering.
type hungBroker struct{ release chan struct{} }

func (*hungBroker) PartitionCount(string) (int, error)                   { return 1, nil }
func (*hungBroker) InitProducerID(context.Context) (int64, int16, error) { return 1, 0, nil }
func (h *hungBroker) AppendLogBatch(ctx context.Context, _ string, _ int32, _ log.Batch) (int64, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-h.release:
		return 0, cairn.ErrClosed
	}
}

// Close returns once its ctx ends, as Kafka's close(timeout) does, even
// with an append that would not end by itself: the append's ctx ends too.
func TestCloseHonoursContextWithHungAppend(t *testing.T) {
	h := &hungBroker{release: make(chan struct{})}
	defer close(h.release) // lets the sender go if Close did not
	p, err := producer.New(ctx, h, nil)
	require.NoError(t, err)
	errs := make(chan error, 1)
	p.Produce(ctx, &producer.Record{Topic: "t", Value: []byte("v")}, func(_ *producer.Record, err error) { errs <- err })
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- p.Close(cctx) }()
	select {
	case err := <-closed:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return 5s after its ctx ended")
	}
	require.ErrorIs(t, <-errs, cairn.ErrClosed, "the record in flight failed")
}

// MaxBufferedBytes bounds what the producer holds: once every record is
// appended, it holds no batch buffers sized by past records, whatever the
// number of partitions they went to.
func TestIdlePartitionsHoldNoBatchBuffers(t *testing.T) {
	const parts, size = 64, 900_000
	nb := &nullBroker{partitions: parts}
	p := newProducer(t, nb, &producer.Options{Partitioner: producer.Manual(),
		MaxBufferedBytes: 2 << 20, Compression: log.LZ4})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := range parts {
		rec := &producer.Record{Topic: "t", Partition: int32(i), Value: make([]byte, size)}
		require.NoError(t, p.ProduceSync(ctx, rec).FirstErr())
	}
	require.NoError(t, p.Flush(ctx))
	grown := int64(heap()) - int64(before)
	require.Less(t, grown, int64(16<<20), "heap grew %d MB after %d records of %d KB, all appended", grown>>20, parts, size>>10)
}
