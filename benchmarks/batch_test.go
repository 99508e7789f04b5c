package benchmarks

import (
	"context"
	"fmt"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/producer"
)

// batchBlock is how many records one iteration of BenchmarkBatchBytes
// produces and consumes for each batch size.
const batchBlock = 400_000

// BenchmarkBatchBytes compares producer.Options.BatchBytes at its default
// (128 KiB) with 1 MB batches, the size kgo and librdkafka default to and
// Cairn's own default before: 400,000 records (16-byte random keys,
// 100-byte values) produced with Linger 0 under no-sync durability, then
// consumed back with a consumer per partition (1 MiB per fetch,
// MaxPollRecords 10,000). Each iteration runs both sizes, on fresh topics
// of one broker, in alternating order.
//
// Besides the rates, it reports the process's CPU time per record
// (getrusage: every goroutine, Pebble's flushes included) for each phase,
// counted from the phase's start until the store has no flush or
// compaction in flight: on a shared machine CPU per record moves less
// than a rate. cpu-ratio-1MB-vs-default is the 1 MB producer's CPU per
// record over the default's. Each size runs under the pprof label
// batch=default|large (Pebble's own goroutines do not inherit it; pprof's
// -tagfocus would read "1MB" as a number with a unit).
func BenchmarkBatchBytes(b *testing.B) {
	for _, n := range partitionCounts {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) { benchBatchBytes(b, n) })
	}
}

type batchPhase struct {
	wall, cpu time.Duration
}

func benchBatchBytes(b *testing.B, partitions int) {
	br, bg := openBroker(b, cairn.NoSync, partitions)
	recs := e2eRecords(batchBlock)
	sizes := []struct {
		name, label string // metric prefix, pprof label
		bytes       int
	}{{"default", "default", 0}, {"1MB", "large", 1_000_000}}
	type acc struct{ prod, cons batchPhase }
	got := make([]acc, len(sizes))
	rounds, topics := 0, 0
	for b.Loop() {
		for j := range sizes {
			i := (rounds + j) % len(sizes)
			topics++
			t := fmt.Sprintf("batch%d", topics)
			if err := br.CreateTopic(context.Background(), t, partitions, nil); err != nil {
				b.Fatal(err)
			}
			var p, c batchPhase
			var err error
			pprof.Do(context.Background(), pprof.Labels("batch", sizes[i].label), func(context.Context) {
				if p, err = batchProduce(br, bg, t, recs, sizes[i].bytes); err == nil {
					c, err = batchConsume(br, bg, t, partitions)
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			got[i].prod.wall += p.wall
			got[i].prod.cpu += p.cpu
			got[i].cons.wall += c.wall
			got[i].cons.cpu += c.cpu
		}
		rounds++
	}
	n := float64(rounds * batchBlock)
	for i, s := range sizes {
		b.ReportMetric(n/got[i].prod.wall.Seconds(), s.name+"-produce-records/s")
		b.ReportMetric(n/got[i].cons.wall.Seconds(), s.name+"-consume-records/s")
		b.ReportMetric(float64(got[i].prod.cpu.Nanoseconds())/n, s.name+"-produce-cpu-ns/record")
		b.ReportMetric(float64(got[i].cons.cpu.Nanoseconds())/n, s.name+"-consume-cpu-ns/record")
	}
	b.ReportMetric(float64(got[1].prod.cpu)/float64(got[0].prod.cpu), "cpu-ratio-1MB-vs-default")
}

// batchProduce produces recs to topic with the given BatchBytes (0: the
// default) and times it: wall time until Flush returns, CPU time until
// the store is idle again.
func batchProduce(br *cairn.Broker, bg *activity, topic string, recs []producer.Record, batchBytes int) (batchPhase, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	prod, err := producer.New(ctx, br, &producer.Options{BatchBytes: batchBytes})
	if err != nil {
		return batchPhase{}, err
	}
	defer prod.Close(ctx)
	start, cpu0 := time.Now(), processCPU()
	for i := range recs {
		r := recs[i] // the producer keeps the record: each gets its own copy
		r.Topic = topic
		prod.Produce(ctx, &r, nil)
	}
	if err := prod.Flush(ctx); err != nil {
		return batchPhase{}, err
	}
	wall := time.Since(start)
	if _, err := bg.quiesce(); err != nil {
		return batchPhase{}, err
	}
	return batchPhase{wall: wall, cpu: processCPU() - cpu0}, nil
}

// batchConsume reads every partition of topic to its end, a consumer per
// partition on its own goroutine.
func batchConsume(br *cairn.Broker, bg *activity, topic string, partitions int) (batchPhase, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	start, cpu0 := time.Now(), processCPU()
	errs := make(chan error, partitions)
	for p := range int32(partitions) {
		go func() { errs <- consumeAll(ctx, br, topic, p, false) }()
	}
	for range partitions {
		if err := <-errs; err != nil {
			return batchPhase{}, err
		}
	}
	wall := time.Since(start)
	if _, err := bg.quiesce(); err != nil {
		return batchPhase{}, err
	}
	return batchPhase{wall: wall, cpu: processCPU() - cpu0}, nil
}

// consumeAll reads partition p of topic from offset 0 to its high
// watermark with a consumer, checking offsets and touching every key and
// value; with recycle it recycles each Poll once it is read.
func consumeAll(ctx context.Context, br *cairn.Broker, topic string, p int32, recycle bool) error {
	_, end, err := br.Watermarks(topic, p)
	if err != nil {
		return err
	}
	cons, err := consumer.New(br, &consumer.Options{MaxPollRecords: 10_000,
		Partitions: map[string][]int32{topic: {p}}})
	if err != nil {
		return err
	}
	defer cons.Close()
	sum := 0
	for next := int64(0); next < end; {
		f, err := cons.Poll(ctx)
		if err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		for _, r := range f.Records {
			if r.Offset != next || len(r.Value) != valueSize {
				return fmt.Errorf("%s/%d: record at %d, want %d", topic, p, r.Offset, next)
			}
			sum += touch(r.Key, r.Value)
			next++
		}
		if recycle {
			f.Recycle()
		}
	}
	if sum == 0 && end > 0 {
		return fmt.Errorf("%s/%d: nothing touched", topic, p)
	}
	return nil
}
