package kafka_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A fetch copies the stored batches into a buffer that is reused once the
// answer is written, so serving megabytes allocates kilobytes. Before, the
// batches were allocated twice per fetch (a copy per batch, then the
// partition's joined bytes): this test saw 2.0 bytes allocated per byte
// served then.
func TestFetchAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates (sync.Pool drops items at random); .ci/run runs this test again without -race")
	}
	b, addr := serveDurability(t, cairn.NoSync, nil)
	require.NoError(t, b.CreateTopic(ctx, "f", 2, nil))
	value := make([]byte, 100)
	for p := range int32(2) {
		for range 20 { // 20 batches of 100 records: about 240 KB a partition
			recs := make([]cairn.Record, 100)
			for i := range recs {
				recs[i] = cairn.Record{Key: fmt.Append(nil, i), Value: value}
			}
			_, err := b.Append(ctx, "f", p, recs...)
			require.NoError(t, err)
		}
	}
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(11)
	req.MaxWaitMillis, req.MaxBytes = 0, 50<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "f"
	for p := range int32(2) {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes = p, 10<<20
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	r := dialRaw(t, addr)
	frame := binary.BigEndian.AppendUint32(nil, 0)
	frame = append(frame, encode(req, 1)...)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	var answer []byte
	fetch := func() int {
		_, err := r.c.Write(frame)
		require.NoError(t, err)
		require.NoError(t, r.c.SetReadDeadline(time.Now().Add(10*time.Second)))
		var size [4]byte
		_, err = io.ReadFull(r.c, size[:])
		require.NoError(t, err)
		n := int(binary.BigEndian.Uint32(size[:]))
		if cap(answer) < n {
			answer = make([]byte, n)
		}
		_, err = io.ReadFull(r.c, answer[:n])
		require.NoError(t, err)
		return n
	}
	// With the collector off, sync.Pool keeps what it is given (a
	// collection empties it, which a server with a larger heap sees
	// less often), and with one P a buffer the writer puts back is the
	// one the reader gets next (sync.Pool keeps one per P where other Ps
	// cannot take it), so this measures the fetch path's reuse alone.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	served := 0
	for range 10 { // warm up: the pooled buffers (more than one: the next request can come before the writer gives one back) grow to size
		served = fetch()
	}
	require.Greater(t, served, 400_000)

	const fetches = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range fetches {
		fetch()
	}
	runtime.ReadMemStats(&after)
	perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(fetches*served)
	t.Logf("%.3f bytes allocated per byte served (%d-byte answers)", perByte, served)
	require.Less(t, perByte, 0.1) // 0.044 when written; 2.17 before the pooled buffers

	// The last answer still holds every batch of both partitions.
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	require.NoError(t, resp.ReadFrom(answer[4:served])) // after the correlation id
	for _, p := range resp.Topics[0].Partitions {
		require.Zero(t, p.ErrorCode)
		f, err := b.Fetch(ctx, "f", p.Partition, 0, 10<<20)
		require.NoError(t, err)
		require.Len(t, f.Batches, 20)
		var want []byte
		for _, bt := range f.Batches {
			want = append(want, bt.Bytes()...)
		}
		require.Equal(t, want, p.RecordBatches, "partition %d", p.Partition)
	}
}
