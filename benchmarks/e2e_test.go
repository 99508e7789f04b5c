package benchmarks

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/producer"
	"github.com/cockroachdb/pebble/v2"
)

// e2eBlock is how many records one iteration of BenchmarkProduceConsume
// moves through each of its three paths: 32 MB of keys and values, half a
// Cairn memtable.
const e2eBlock = 256_000

// maxPollRecords sets consumer.Options.MaxPollRecords in the produce and
// consume benchmarks; 0 keeps the consumer's default (500).
var maxPollRecords = flag.Int("max-poll-records", 0,
	"consumer.Options.MaxPollRecords for the ProduceConsume benchmarks (0: the consumer's default)")

// batchBytes sets producer.Options.BatchBytes in the produce and consume
// benchmarks; 0 keeps the producer's default.
var batchBytes = flag.Int("batch-bytes", 0,
	"producer.Options.BatchBytes for the ProduceConsume benchmarks (0: the producer's default)")

// e2eTimeout bounds any one phase, so a lost record fails the benchmark
// instead of hanging it.
const e2eTimeout = 5 * time.Minute

// BenchmarkProduceConsume measures records going from a producer.Producer
// to a consumer.Consumer in one process: 16-byte random keys, 100-byte
// values, one or eight partitions (records spread by the default,
// murmur2 key partitioner), under no-sync and sync-always durability. The
// producer uses its defaults (idempotence on, Linger 0: a partition's
// batch grows while the previous one is being appended, up to 128 KiB); the
// user goroutine calls the async Produce for every record, then Flush.
//
// Each iteration runs three phases of 256,000 records, each on a broker
// of its own, in an order that rotates between iterations:
//
//   - e2e: the producer and a consumer polling all partitions run
//     concurrently, from the first Produce until the consumer has every
//     record. records/s is this end-to-end rate; producer-records/s is
//     the producer's own rate in this phase (first Produce to Flush).
//   - solo: another producer with the same options and records, with no
//     consumer running and no send times written
//     (solo-producer-records/s).
//   - raw: Broker.Append of the same records to the same partitions, in
//     batches of 1,000, one goroutine per partition: the core's raw
//     append rate (raw-append-records/s).
//
// The three brokers see the same writes in the same order, so each
// path's phases meet Pebble's memtable rotations and flushes at the same
// points. On one shared broker they did not: a 64 MB memtable fills
// every 1.8 phases or so, and which phase the flush that follows lands in
// (it takes a core for some 200 ms, against a phase's 30 to 60 ms) went by
// the order of the phases, not by chance: in six runs of three
// iterations (one and eight partitions) the solo phase met one flush in
// each run and the raw phase none.
//
// producer-overhead is raw-append-records/s ÷ producer-records/s and
// solo-producer-overhead the same against the solo phase (the issue's
// target is at most 1.25, a producer at 0.8× the raw append or better).
// Every record's value starts with its send time (ns since the benchmark
// began, written just before Produce), so the consumer reports the
// produce-to-consume latency p50-ns and p99-ns of the e2e phase. With
// the producer running flat out these include the time a record waits in
// the producer's buffer (up to 100,000 records); BenchmarkProduceConsumeRate
// measures latency at a fixed, sustainable rate.
//
// Before the timed iterations, untimed rounds of the three phases run
// until Pebble reuses its memtables' memory (see warmUp; about 8 rounds),
// so the phases measure a broker in its steady state, not the page faults
// of its first 200 MB (warm-up-rounds reports how many ran).
//
// A phase is timed until its own work is done; the flushes and
// compactions it started are waited out, untimed, before the next phase
// begins. Phases run under the pprof label phase=e2e|solo|raw (goroutines
// they start, such as the producer's senders, inherit it).
func BenchmarkProduceConsume(b *testing.B) {
	for _, d := range durabilities {
		for _, n := range partitionCounts {
			b.Run(fmt.Sprintf("%s/partitions=%d", d.name, n), func(b *testing.B) {
				benchProduceConsume(b, d.cairn, n)
			})
		}
	}
}

// e2eRun is the state of one BenchmarkProduceConsume case.
type e2eRun struct {
	br         *cairn.Broker // the raw phase's
	partitions int
	prod       *producer.Producer // the e2e phase's, with cons
	cons       *consumer.Consumer
	solo       *producer.Producer
	recs       []producer.Record
	batches    [][][]cairn.Record // [partition][batch] of up to 1,000
	epoch      time.Time
	errs       atomic.Int64
	firstErr   atomic.Pointer[error]

	// Accumulated over iterations: phase times, the solo phase's heap
	// allocations, and the e2e phase's latencies.
	t          struct{ raw, solo, prod, e2e time.Duration }
	soloAllocs uint64
	lat        []int64
}

func benchProduceConsume(b *testing.B, d cairn.Durability, partitions int) {
	e2eBroker, e2eBG := openBroker(b, d, partitions, "e2e")
	soloBroker, soloBG := openBroker(b, d, partitions, "solo")
	rawBroker, rawBG := openBroker(b, d, partitions, "raw")
	bgs := []*activity{e2eBG, soloBG, rawBG}
	r := &e2eRun{br: rawBroker, partitions: partitions, epoch: time.Now()}
	r.prod, r.cons = openClients(b, e2eBroker, nil, "e2e", partitions)
	r.solo = openProducer(b, soloBroker, nil)
	r.recs = e2eRecords(e2eBlock)
	r.batches = rawBatches(r.recs, partitions)
	phases := []func() error{r.rawPhase, r.soloPhase, r.e2ePhase}
	var blocks int
	round := func() {
		for i := range phases {
			if err := phases[(blocks+i)%len(phases)](); err != nil {
				b.Fatal(err)
			}
			for _, bg := range bgs {
				if _, err := bg.quiesce(); err != nil {
					b.Fatal(err)
				}
			}
		}
		blocks++
	}
	warm := warmUp(round)
	*r = e2eRun{br: r.br, partitions: r.partitions, prod: r.prod, cons: r.cons, solo: r.solo,
		recs: r.recs, batches: r.batches, epoch: r.epoch}
	blocks = 0
	b.ReportAllocs()
	for b.Loop() {
		round()
	}
	n := float64(blocks * e2eBlock)
	rawRate, soloRate, prodRate := n/r.t.raw.Seconds(), n/r.t.solo.Seconds(), n/r.t.prod.Seconds()
	b.ReportMetric(n/r.t.e2e.Seconds(), "records/s")
	b.ReportMetric(prodRate, "producer-records/s")
	b.ReportMetric(soloRate, "solo-producer-records/s")
	b.ReportMetric(rawRate, "raw-append-records/s")
	b.ReportMetric(rawRate/prodRate, "producer-overhead")
	b.ReportMetric(rawRate/soloRate, "solo-producer-overhead")
	b.ReportMetric(float64(r.soloAllocs)/n, "solo-allocs/record")
	slices.Sort(r.lat)
	b.ReportMetric(float64(quantile(r.lat, 0.50)), "p50-ns")
	b.ReportMetric(float64(quantile(r.lat, 0.99)), "p99-ns")
	b.ReportMetric(float64(warm), "warm-up-rounds")
}

// warmUp runs round, untimed, until a round takes fewer than 1,000 new
// pages from the OS (4 MB; at most 16 rounds), and returns how many it
// ran. Until each broker's first memtables have been flushed, Pebble
// allocates every new 64 MB memtable afresh, and the first write to each
// of its pages is a page fault: in 10-iteration runs on the 2-core VM,
// each phase took some 7,900 faults in its first six iterations and none
// from the eighth, when Pebble reuses flushed memtables, and the raw
// phase took 35-50 ms with faults against 25-35 ms without. Timing those
// phases measured the faults, which both paths pay alike, and flattered
// the producer: -benchtime 3x gave a solo-producer-overhead of 1.13-1.45
// on one partition (6 runs) where runs warmed up give 1.29-1.73 (10).
func warmUp(round func()) int {
	for n := 1; ; n++ {
		f := minorFaults()
		round()
		if minorFaults()-f < 1000 || n == 16 {
			return n
		}
	}
}

// minorFaults returns the page faults this process has taken that needed
// no disk read: mostly first writes to fresh memory.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

// openBroker opens a broker on the real disk under b.TempDir() with the
// given topics of the given partition count, closed when b ends, and
// returns it with a watch on its flushes and compactions.
func openBroker(b *testing.B, d cairn.Durability, partitions int, topics ...string) (*cairn.Broker, *activity) {
	bg := &activity{}
	br, err := cairn.Open(filepath.Join(b.TempDir(), "cairn"), &cairn.Options{Durability: d,
		Pebble: func(o *pebble.Options) { o.AddEventListener(bg.listener()) }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := br.Close(); err != nil {
			b.Error(err)
		}
	})
	for _, t := range topics {
		if err := br.CreateTopic(context.Background(), t, partitions, nil); err != nil {
			b.Fatal(err)
		}
	}
	return br, bg
}

// openClients returns a producer (with opts) and a consumer of every
// partition of topic, both closed at the end of the benchmark.
func openClients(b *testing.B, br *cairn.Broker, opts *producer.Options, topic string, partitions int) (*producer.Producer, *consumer.Consumer) {
	prod := openProducer(b, br, opts)
	cons, err := consumer.New(br, &consumer.Options{MaxPollRecords: *maxPollRecords,
		Partitions: map[string][]int32{topic: allPartitions(partitions)}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cons.Close() })
	return prod, cons
}

// openProducer returns a producer with opts (and -batch-bytes), closed at
// the end of the benchmark.
func openProducer(b *testing.B, br *cairn.Broker, opts *producer.Options) *producer.Producer {
	ctx := context.Background()
	var o producer.Options
	if opts != nil {
		o = *opts
	}
	if *batchBytes > 0 {
		o.BatchBytes = *batchBytes
	}
	prod, err := producer.New(ctx, br, &o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { prod.Close(ctx) })
	return prod
}

func allPartitions(n int) []int32 {
	ps := make([]int32, n)
	for i := range ps {
		ps[i] = int32(i)
	}
	return ps
}

// e2eRecords returns n records with random (incompressible) 16-byte keys
// and 100-byte values from a fixed seed.
func e2eRecords(n int) []producer.Record {
	rng := rand.New(rand.NewPCG(3, 4))
	arena := make([]byte, n*(keySize+valueSize))
	for i := range arena {
		arena[i] = byte(rng.Uint32())
	}
	recs := make([]producer.Record, n)
	for i := range recs {
		kv := arena[i*(keySize+valueSize) : (i+1)*(keySize+valueSize)]
		recs[i] = producer.Record{Key: kv[:keySize:keySize], Value: kv[keySize:]}
	}
	return recs
}

// rawBatches groups recs by the partition the producer's default
// partitioner gives their key, in batches of up to 1,000 in order.
func rawBatches(recs []producer.Record, partitions int) [][][]cairn.Record {
	byPart := make([][]cairn.Record, partitions)
	for _, r := range recs {
		p := producer.KeyPartition(r.Key, partitions)
		byPart[p] = append(byPart[p], cairn.Record{Key: r.Key, Value: r.Value})
	}
	out := make([][][]cairn.Record, partitions)
	for p, rs := range byPart {
		for len(rs) > 0 {
			n := min(batchSize, len(rs))
			out[p] = append(out[p], rs[:n])
			rs = rs[n:]
		}
	}
	return out
}

// labelled runs f under the pprof label phase=name, in an execution
// trace region of the same name (go test -trace).
func labelled(name string, f func()) {
	pprof.Do(context.Background(), pprof.Labels("phase", name), func(ctx context.Context) {
		trace.WithRegion(ctx, name, f)
	})
}

func (r *e2eRun) rawPhase() (err error) {
	ctx := context.Background()
	start := time.Now()
	labelled("raw", func() {
		err = each(r.partitions, func(p int) error {
			for _, batch := range r.batches[p] {
				if _, err := r.br.Append(ctx, "raw", int32(p), batch...); err != nil {
					return err
				}
			}
			return nil
		})
	})
	r.t.raw += time.Since(start)
	return err
}

func (r *e2eRun) soloPhase() (err error) {
	r.reset("solo")
	a := heapAllocs()
	start := time.Now()
	labelled("solo", func() { err = r.produce(r.solo, false) })
	r.t.solo += time.Since(start)
	r.soloAllocs += heapAllocs() - a
	return err
}

func (r *e2eRun) e2ePhase() (err error) {
	r.reset("e2e")
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	var consumed time.Time
	var cerr error
	var wg sync.WaitGroup
	start := time.Now()
	labelled("e2e", func() {
		wg.Go(func() { r.lat, consumed, cerr = consumeN(ctx, r.cons, len(r.recs), r.epoch, r.lat) })
		err = r.produce(r.prod, true)
		r.t.prod += time.Since(start)
		wg.Wait()
	})
	r.t.e2e += consumed.Sub(start)
	return errors.Join(err, cerr)
}

// reset readies the records for another Produce to topic, untimed.
func (r *e2eRun) reset(topic string) {
	for i := range r.recs {
		rec := &r.recs[i]
		rec.Topic, rec.Partition, rec.Offset, rec.Timestamp = topic, 0, 0, time.Time{}
	}
}

// produce produces every record asynchronously with prod, then flushes.
// With stamped, each value gets its send time first (for the e2e
// latency); the solo phase leaves that out, as the raw phase has no such
// work.
func (r *e2eRun) produce(prod *producer.Producer, stamped bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	promise := func(_ *producer.Record, err error) {
		if err != nil && r.errs.Add(1) == 1 {
			first := err // a copy, so err itself does not escape: no allocation per record
			r.firstErr.Store(&first)
		}
	}
	for i := range r.recs {
		rec := &r.recs[i]
		if stamped {
			stamp(rec.Value, r.epoch)
		}
		prod.Produce(ctx, rec, promise)
	}
	if err := prod.Flush(ctx); err != nil {
		return err
	}
	if n := r.errs.Load(); n > 0 {
		return fmt.Errorf("%d records failed, the first with: %w", n, *r.firstErr.Load())
	}
	return nil
}

// stamp writes the time since epoch into the first 8 bytes of value.
func stamp(value []byte, epoch time.Time) {
	binary.LittleEndian.PutUint64(value, uint64(time.Since(epoch)))
}

// consumeN polls c until it has n records, appending each record's
// produce-to-consume latency (ns) to lat, and returns when it got the
// last one.
func consumeN(ctx context.Context, c *consumer.Consumer, n int, epoch time.Time, lat []int64) ([]int64, time.Time, error) {
	for got := 0; got < n; {
		f, err := c.Poll(ctx)
		if err != nil {
			return lat, time.Time{}, fmt.Errorf("consumer after %d of %d records: %w", got, n, err)
		}
		if err := f.Err(); err != nil {
			return lat, time.Time{}, err
		}
		now := int64(time.Since(epoch))
		for _, rec := range f.Records {
			lat = append(lat, now-int64(binary.LittleEndian.Uint64(rec.Value)))
		}
		got += len(f.Records)
	}
	return lat, time.Now(), nil
}

// quantile returns the q-quantile of sorted (nearest rank), 0 if empty.
func quantile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
