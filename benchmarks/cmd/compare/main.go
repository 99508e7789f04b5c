// Command compare runs the same workloads against Cairn and the embedded
// logs a Go user would otherwise pick, and writes a Markdown report and a
// bar chart:
//
//   - Cairn (this repository), through its producer and consumer packages;
//   - NATS JetStream, a nats-server embedded in the process with file
//     storage, through nats.go's jetstream package;
//   - franz-go's kfake (an in-memory fake Kafka cluster) through kgo;
//   - a hand-rolled log on raw Pebble, one key per record.
//
// Workloads: 2M records of 100 bytes with 16-byte keys, on 1 and 8
// partitions, in each system's fastest honest mode and its durable mode
// (fsync before acknowledging), produced and then consumed back; 500k
// records of 1 KiB; produce→consume latency at 50k records/s for 10s.
// Every run happens in a child process (the command re-executes itself)
// so its peak RSS, read from the child's rusage, is its own. Systems
// alternate within each repetition.
//
// Usage, from the repository root:
//
//	go -C benchmarks run ./cmd/compare            # full run, about 10-15 minutes
//	go -C benchmarks run ./cmd/compare -quick     # under a minute, 1 repetition
//
// or `go run ./cmd/compare` inside benchmarks/. Results go to -out
// (default results, relative to benchmarks/): results.md, results.json
// and chart.svg (chart.png, the same figure).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

type config struct {
	quick      bool
	out        string
	dataDir    string
	reps       int
	records    int
	bigRecords int
	rate       int
	duration   time.Duration
	durableMax time.Duration
	systems    string
	only       string
	from       string
	cpuProfile string
}

func main() {
	var c config
	child := flag.String("child", "", "internal: run one measurement described by this JSON in this process")
	flag.BoolVar(&c.quick, "quick", false, "a smaller run of under a minute (1 repetition, fewer records, 1s latency runs)")
	flag.StringVar(&c.out, "out", "results", "folder for results.md, results.json, chart.svg and chart.png")
	flag.StringVar(&c.dataDir, "data", "", "where the systems store their data (default: the OS temp dir); should be a real disk")
	flag.IntVar(&c.reps, "reps", 0, "repetitions of every measurement (default 3, 1 with -quick)")
	flag.IntVar(&c.records, "records", 0, "records of 100 bytes to produce (default 2,000,000; 100,000 with -quick)")
	flag.IntVar(&c.bigRecords, "big-records", 0, "records of 1 KiB to produce (default 500,000; 25,000 with -quick)")
	flag.IntVar(&c.rate, "rate", 50_000, "records/s of the latency runs")
	flag.DurationVar(&c.duration, "duration", 0, "length of the latency runs (default 10s; 1s with -quick)")
	flag.DurationVar(&c.durableMax, "durable-max", 0, "stop a durable produce after this long and rate what was acknowledged; also how long a latency run waits for a backlog (default 20s; 2s with -quick)")
	flag.StringVar(&c.systems, "systems", "cairn,jetstream,kfake,pebble", "systems to run, comma-separated")
	flag.StringVar(&c.only, "only", "", "run only the measurements whose key (e.g. throughput/fast/1p/100B) matches this regexp")
	flag.StringVar(&c.from, "from", "", "write the report and chart from this results.json of an earlier run instead of running")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write CPU profiles of every run to this folder (<key>.<system>.<rep>.{produce,consume,latency})")
	flag.Parse()

	if *child != "" {
		if err := runChild(*child); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	c.defaults()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func (c *config) defaults() {
	set := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if c.quick {
				*v = quick
			}
		}
	}
	setD := func(v *time.Duration, full, quick time.Duration) {
		if *v == 0 {
			*v = full
			if c.quick {
				*v = quick
			}
		}
	}
	set(&c.reps, 3, 1)
	set(&c.records, 2_000_000, 100_000)
	set(&c.bigRecords, 500_000, 25_000)
	setD(&c.duration, 10*time.Second, time.Second)
	setD(&c.durableMax, 20*time.Second, 2*time.Second)
}

// runConfig is what the report needs of a run's configuration; it is
// saved with the results.
type runConfig struct {
	Rate       int           `json:"rate"`
	DurableMax time.Duration `json:"durable_max"`
}

// Run returns the configuration the report needs.
func (c *config) Run() runConfig { return runConfig{Rate: c.rate, DurableMax: c.durableMax} }

func (c *config) apply(r runConfig) { c.rate, c.durableMax = r.Rate, r.DurableMax }
