package benchmarks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/producer"
)

// Fixed-rate production for BenchmarkProduceConsumeRate: 50 records every
// millisecond, 50,000 records/s; one iteration is one second.
const (
	rateTick    = time.Millisecond
	ratePerTick = 50
	rateTicks   = 1000
)

// BenchmarkProduceConsumeRate measures produce-to-consume latency at a
// fixed rate the system sustains: 50,000 records/s (100-byte values,
// 16-byte keys, one or eight partitions), paced in ticks of 50 records
// every millisecond, produced with the async Produce and Linger 0 (a
// batch is sent at once, and grows only while the previous one of its
// partition is being appended), consumed by one consumer.Consumer polling
// all partitions. Pacing is open-loop: a late tick sends what is due at
// once, so a stall shows in the latencies instead of lowering the rate.
//
// Each record's value starts with the time just before its Produce call
// (ns since the benchmark began); the consumer subtracts it from the time
// Poll returned the record. Reported over every record: p50-ns, p99-ns,
// p999-ns and max-ns, and records/s, the rate achieved end to end (the
// records over the time from the first Produce to the last record
// consumed). ack-p50-ns and ack-p99-ns measure from Produce to the
// record's promise (appended and acknowledged): the producer's share.
//
// In the same run, alternating with it, the same records are appended at
// the same pace straight to the core, as a peer: each tick's records of a
// partition in one Broker.Append, by one goroutine per partition (as the
// producer has one sender per partition), to another topic.
// append-p50-ns and append-p99-ns run from the tick to the append's
// return. tick-late-p99-ns is the 99th percentile of how late the pacing
// goroutine's timer woke it for a tick (both phases): a late wake-up sends
// the ticks due at once, so it says how smooth the offered load was, and
// it grows with the machine's load. One iteration is one second of each
// phase; use -benchtime Nx for N.
func BenchmarkProduceConsumeRate(b *testing.B) {
	for _, d := range durabilities {
		for _, n := range partitionCounts {
			b.Run(fmt.Sprintf("%s/partitions=%d", d.name, n), func(b *testing.B) {
				benchProduceConsumeRate(b, d.cairn, n)
			})
		}
	}
}

// rateRun is the state of one BenchmarkProduceConsumeRate case.
type rateRun struct {
	br         *cairn.Broker
	partitions int
	prod       *producer.Producer
	cons       *consumer.Consumer
	recs       []producer.Record  // one second of records
	ticks      [][][]cairn.Record // the same records by tick and partition
	epoch      time.Time
	errs       atomic.Int64
	firstErr   atomic.Pointer[error]

	// Accumulated over iterations: the time the e2e phases took, and
	// latencies (ns). mu guards ack and appended, which other goroutines
	// add to.
	e2e           time.Duration
	lat, late     []int64
	mu            sync.Mutex
	ack, appended []int64
}

func benchProduceConsumeRate(b *testing.B, d cairn.Durability, partitions int) {
	br, bg := openBroker(b, d, partitions, "rate", "rate-raw")
	prod, cons := openClients(b, br, &producer.Options{Linger: 0}, "rate", partitions)
	r := &rateRun{br: br, partitions: partitions, prod: prod, cons: cons, epoch: time.Now()}
	r.recs = e2eRecords(ratePerTick * rateTicks)
	r.ticks = tickBatches(r.recs, partitions)
	phases := []func() error{r.producePhase, r.appendPhase}
	var seconds int
	b.ReportAllocs()
	for b.Loop() {
		for i := range phases {
			if err := phases[(seconds+i)%len(phases)](); err != nil {
				b.Fatal(err)
			}
			if _, err := bg.quiesce(); err != nil {
				b.Fatal(err)
			}
		}
		seconds++
	}
	b.ReportMetric(float64(seconds*len(r.recs))/r.e2e.Seconds(), "records/s")
	reportLatencies(b, "", r.lat, 0.50, 0.99, 0.999, 1)
	reportLatencies(b, "ack-", r.ack, 0.50, 0.99)
	reportLatencies(b, "append-", r.appended, 0.50, 0.99)
	reportLatencies(b, "tick-late-", r.late, 0.99)
}

// quantileNames name the quantiles reportLatencies reports.
var quantileNames = map[float64]string{0.50: "p50", 0.99: "p99", 0.999: "p999", 1: "max"}

// reportLatencies reports quantiles of lat (ns) as <prefix>p50-ns and so
// on, quantile 1 as <prefix>max-ns.
func reportLatencies(b *testing.B, prefix string, lat []int64, qs ...float64) {
	slices.Sort(lat)
	for _, q := range qs {
		b.ReportMetric(float64(quantile(lat, q)), prefix+quantileNames[q]+"-ns")
	}
}

// tickBatches splits recs into ticks of ratePerTick and each tick by the
// partition the producer's default partitioner gives a record's key.
func tickBatches(recs []producer.Record, partitions int) [][][]cairn.Record {
	out := make([][][]cairn.Record, rateTicks)
	for t := range out {
		out[t] = make([][]cairn.Record, partitions)
		for _, r := range recs[t*ratePerTick : (t+1)*ratePerTick] {
			p := producer.KeyPartition(r.Key, partitions)
			out[t][p] = append(out[t][p], cairn.Record{Key: r.Key, Value: r.Value})
		}
	}
	return out
}

// grow makes room for a phase's latencies before it starts, so that the
// slices do not grow (allocate and copy) while latencies are measured.
func (r *rateRun) grow() {
	n := len(r.recs)
	r.lat = slices.Grow(r.lat, n)
	r.ack = slices.Grow(r.ack, n)
	r.appended = slices.Grow(r.appended, n)
	r.late = slices.Grow(r.late, rateTicks)
}

// pace calls send for every tick, each once it is due, and records how
// late it woke for the first tick due at each wake-up.
func (r *rateRun) pace(send func(tick int)) {
	start := time.Now()
	for tick := 0; tick < rateTicks; {
		now := time.Since(start)
		r.late = append(r.late, int64(now-time.Duration(tick)*rateTick))
		for due := min(rateTicks, int(now/rateTick)+1); tick < due; tick++ {
			send(tick)
		}
		time.Sleep(time.Until(start.Add(time.Duration(tick) * rateTick)))
	}
}

// producePhase produces one second of records at the fixed rate while the
// consumer takes them.
func (r *rateRun) producePhase() error {
	r.grow()
	for i := range r.recs {
		rec := &r.recs[i]
		rec.Topic, rec.Partition, rec.Offset, rec.Timestamp = "rate", 0, 0, time.Time{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	var consumed time.Time
	var cerr error
	var wg sync.WaitGroup
	wg.Go(func() { r.lat, consumed, cerr = consumeN(ctx, r.cons, len(r.recs), r.epoch, r.lat) })
	promise := func(rec *producer.Record, err error) {
		if err != nil && r.errs.Add(1) == 1 {
			e := err // only here: &err would move every call's err to the heap
			r.firstErr.Store(&e)
		}
		d := int64(time.Since(r.epoch)) - int64(binary.LittleEndian.Uint64(rec.Value))
		r.mu.Lock()
		r.ack = append(r.ack, d)
		r.mu.Unlock()
	}
	start := time.Now()
	r.pace(func(tick int) {
		for i := range ratePerTick {
			rec := &r.recs[tick*ratePerTick+i]
			stamp(rec.Value, r.epoch)
			r.prod.Produce(ctx, rec, promise)
		}
	})
	err := r.prod.Flush(ctx)
	wg.Wait()
	r.e2e += consumed.Sub(start)
	if n := r.errs.Load(); n > 0 {
		err = errors.Join(err, fmt.Errorf("%d records failed, the first with: %w", n, *r.firstErr.Load()))
	}
	return errors.Join(err, cerr)
}

// appendPhase appends the same records at the same pace with
// Broker.Append, one goroutine per partition.
func (r *rateRun) appendPhase() error {
	r.grow()
	ctx := context.Background()
	chans := make([]chan []cairn.Record, r.partitions)
	errs := make([]error, r.partitions)
	var wg sync.WaitGroup
	for p := range chans {
		ch := make(chan []cairn.Record, rateTicks)
		chans[p] = ch
		wg.Go(func() {
			for batch := range ch {
				if errs[p] != nil {
					continue
				}
				_, errs[p] = r.br.Append(ctx, "rate-raw", int32(p), batch...)
				now := int64(time.Since(r.epoch))
				r.mu.Lock()
				for _, rec := range batch {
					r.appended = append(r.appended, now-int64(binary.LittleEndian.Uint64(rec.Value)))
				}
				r.mu.Unlock()
			}
		})
	}
	r.pace(func(tick int) {
		for p, batch := range r.ticks[tick] {
			for _, rec := range batch {
				stamp(rec.Value, r.epoch)
			}
			if len(batch) > 0 {
				chans[p] <- batch
			}
		}
	})
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	return errors.Join(errs...)
}
