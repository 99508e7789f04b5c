package benchmarks

import (
	"context"
	"fmt"
	"net"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaRecords is how many 100-byte records each iteration produces and
// consumes back through a Kafka client.
const kafkaRecords = 200_000

// BenchmarkKafkaClient drives the same franz-go client against Cairn's
// Kafka listener (on disk, SyncAlways: every acknowledged batch is fsynced)
// and against franz-go's kfake (in memory, nothing on disk), one after the
// other in each iteration, in alternating order: produce 200,000 records of 100 bytes with
// 16-byte keys to a topic of 8 partitions (Produce with promises, then
// Flush), then consume them all back with a fresh client. It reports
// records/s for both, the ratios cairn/kfake, and the process CPU time
// per record of each phase (client and server together). The clients
// run under the pprof labels system=cairn|kfake and phase=produce|consume
// (the servers' goroutines do not inherit them), so a -cpuprofile tells
// the client's work against each server apart.
func BenchmarkKafkaClient(b *testing.B) {
	ctx := context.Background()
	value := make([]byte, valueSize)
	var cairnProduce, cairnConsume, fakeProduce, fakeConsume time.Duration
	var cpu [2][2]time.Duration // [cairn, kfake][produce, consume]: process CPU time
	var round int
	for b.Loop() {
		b.StopTimer()
		addr, stop := startCairnKafka(b)
		fakeAddr, stopFake := startKfake(b)
		b.StartTimer()
		runCairn := func() {
			p, c := kafkaRound(ctx, b, "cairn", addr, value, &cpu[0])
			cairnProduce, cairnConsume = cairnProduce+p, cairnConsume+c
		}
		runFake := func() {
			p, c := kafkaRound(ctx, b, "kfake", fakeAddr, value, &cpu[1])
			fakeProduce, fakeConsume = fakeProduce+p, fakeConsume+c
		}
		if round%2 == 0 { // alternate which goes first: neither always runs in the warmer process
			runCairn()
			runFake()
		} else {
			runFake()
			runCairn()
		}
		round++
		b.StopTimer()
		stop()
		stopFake()
		b.StartTimer()
	}
	n := float64(b.N * kafkaRecords)
	rate := func(d time.Duration) float64 { return n / d.Seconds() }
	b.ReportMetric(rate(cairnProduce), "cairn-produce-records/s")
	b.ReportMetric(rate(fakeProduce), "kfake-produce-records/s")
	b.ReportMetric(rate(cairnConsume), "cairn-consume-records/s")
	b.ReportMetric(rate(fakeConsume), "kfake-consume-records/s")
	b.ReportMetric(fakeProduce.Seconds()/cairnProduce.Seconds(), "x-produce-vs-kfake")
	b.ReportMetric(fakeConsume.Seconds()/cairnConsume.Seconds(), "x-consume-vs-kfake")
	perRecord := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / n }
	b.ReportMetric(perRecord(cpu[0][0]), "cairn-produce-cpu-ns/record")
	b.ReportMetric(perRecord(cpu[1][0]), "kfake-produce-cpu-ns/record")
	b.ReportMetric(perRecord(cpu[0][1]), "cairn-consume-cpu-ns/record")
	b.ReportMetric(perRecord(cpu[1][1]), "kfake-consume-cpu-ns/record")
}

// processCPU returns the CPU time (user and system) this process has
// used. With client and server in one process it shows whether a slower
// run did more work or waited more.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// kafkaRound produces and consumes the workload against one cluster,
// adding the process CPU time of each phase to cpu.
func kafkaRound(ctx context.Context, b *testing.B, system, addr string, value []byte, cpu *[2]time.Duration) (produce, consume time.Duration) {
	pprof.Do(ctx, pprof.Labels("system", system, "phase", "produce"), func(ctx context.Context) {
		produce = kafkaProduce(ctx, b, addr, value, &cpu[0])
	})
	pprof.Do(ctx, pprof.Labels("system", system, "phase", "consume"), func(ctx context.Context) {
		consume = kafkaConsume(ctx, b, addr, &cpu[1])
	})
	return produce, consume
}

// kafkaProduce produces the workload with a new client.
func kafkaProduce(ctx context.Context, b *testing.B, addr string, value []byte, cpu *time.Duration) time.Duration {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topicName))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	start, cpuStart := time.Now(), processCPU()
	errc := make(chan error, 1)
	for i := 0; i < kafkaRecords; i++ {
		key := []byte(fmt.Sprintf("key-%012d", i%100_000))
		cl.Produce(ctx, &kgo.Record{Key: key, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	produce := time.Since(start)
	*cpu += processCPU() - cpuStart
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
	return produce
}

// kafkaConsume consumes the workload from the start with a new client.
func kafkaConsume(ctx context.Context, b *testing.B, addr string, cpu *time.Duration) time.Duration {
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topicName),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	start, cpuStart := time.Now(), processCPU()
	for got := 0; got < kafkaRecords; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			b.Fatal(err)
		}
		got += fs.NumRecords()
	}
	consume := time.Since(start)
	*cpu += processCPU() - cpuStart
	return consume
}

func startCairnKafka(b *testing.B) (string, func()) {
	br, err := cairn.Open(b.TempDir(), nil) // durable: SyncAlways
	if err != nil {
		b.Fatal(err)
	}
	if err := br.CreateTopic(context.Background(), topicName, 8, nil); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := kafka.NewServer(br, nil)
	go srv.Serve(ln)
	return ln.Addr().String(), func() {
		srv.Close()
		br.Close()
	}
}

func startKfake(b *testing.B) (string, func()) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, topicName))
	if err != nil {
		b.Fatal(err)
	}
	return c.ListenAddrs()[0], c.Close
}
