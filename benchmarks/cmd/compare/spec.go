package main

import (
	"context"
	"fmt"
	"time"
)

// Systems under comparison, in the order tables and charts show them.
const (
	sysCairn     = "cairn"
	sysJetStream = "jetstream"
	sysKfake     = "kfake"
	sysPebble    = "pebble"
)

var allSystems = []string{sysCairn, sysJetStream, sysKfake, sysPebble}

var systemTitles = map[string]string{
	sysCairn:     "Cairn",
	sysJetStream: "JetStream",
	sysKfake:     "kfake",
	sysPebble:    "raw Pebble",
}

// Modes: each system's fastest honest mode, and its durable mode
// (acknowledged only after fsync).
const (
	modeFast    = "fast"
	modeDurable = "durable"
)

// Kinds of run.
const (
	kindThroughput = "throughput" // produce n records, then consume them all back
	kindLatency    = "latency"    // produce at a fixed rate while consuming
)

// spec is one run of one system, done in a child process so that its peak
// RSS is its own.
type spec struct {
	System     string        `json:"system"`
	Rep        int           `json:"rep"`
	Kind       string        `json:"kind"`
	Mode       string        `json:"mode"`
	Partitions int           `json:"partitions"`
	ValueSize  int           `json:"value_size"`
	Records    int           `json:"records"`  // throughput: records to produce
	MaxTime    time.Duration `json:"max_time"` // throughput: stop producing after this long
	Rate       int           `json:"rate"`     // latency: records/s
	Duration   time.Duration `json:"duration"` // latency: how long to produce
	Dir        string        `json:"dir"`      // data directory (the child's own)
	CPUProfile string        `json:"cpu_profile,omitempty"`
}

// key names the measurement a spec belongs to, without the system.
func (s spec) key() string {
	if s.Kind == kindLatency {
		return fmt.Sprintf("latency/%s/%dp/%dB", s.Mode, s.Partitions, s.ValueSize)
	}
	return fmt.Sprintf("throughput/%s/%dp/%dB", s.Mode, s.Partitions, s.ValueSize)
}

// result is what a child reports; the parent adds MaxRSS.
type result struct {
	Spec           spec    `json:"spec"`
	Produced       int     `json:"produced"`
	ProduceSeconds float64 `json:"produce_seconds"`
	Consumed       int     `json:"consumed"`
	ConsumeSeconds float64 `json:"consume_seconds"`
	Capped         bool    `json:"capped,omitempty"` // production stopped at MaxTime
	P50            float64 `json:"p50_ms,omitempty"` // latency, ms
	P99            float64 `json:"p99_ms,omitempty"`
	P999           float64 `json:"p999_ms,omitempty"`
	Samples        int     `json:"samples,omitempty"`
	Saturated      bool    `json:"saturated,omitempty"` // latency: could not sustain the rate
	DiskBytes      int64   `json:"disk_bytes"`          // allocated blocks
	FileBytes      int64   `json:"file_bytes"`          // file sizes
	MaxRSS         int64   `json:"max_rss_bytes"`
	Options        string  `json:"options"`
	Err            string  `json:"error,omitempty"`
}

func (r result) produceRate() float64 { return float64(r.Produced) / r.ProduceSeconds }
func (r result) consumeRate() float64 { return float64(r.Consumed) / r.ConsumeSeconds }

// system is one log under test, opened on a directory. The producing and
// consuming methods are called from one goroutine per partition at once.
type system interface {
	// produce sends partition p's n records from src as the system's
	// documentation recommends and returns once all are acknowledged,
	// with how many were sent; it stops sending early once stop is closed.
	produce(ctx context.Context, src *source, p, n int, stop <-chan struct{}) (int, error)
	// consume reads partition p from its start until it has n records,
	// touching every key and value.
	consume(ctx context.Context, p, n int) error
	// tail calls each with every record value of partition p as it
	// arrives, until ctx is done. ready is closed once it is listening.
	tail(ctx context.Context, p int, ready chan<- struct{}, each func(value []byte)) error
	// send produces one record asynchronously, in the lowest-latency
	// configuration; flush waits for everything sent.
	send(ctx context.Context, p int, key, value []byte) error
	flush(ctx context.Context) error
	// options describes the configuration, for the report.
	options() string
	close() error
}

// openSystem opens the system s names for a run.
func openSystem(ctx context.Context, s spec) (system, error) {
	lowLatency := s.Kind == kindLatency
	durable := s.Mode == modeDurable
	switch s.System {
	case sysCairn:
		return openCairn(ctx, s.Dir, s.Partitions, durable, lowLatency)
	case sysJetStream:
		return openJetStream(ctx, s.Dir, s.Partitions, durable)
	case sysKfake:
		if durable {
			return nil, fmt.Errorf("kfake keeps records in memory: no durable mode")
		}
		return openKfake(ctx, s.Partitions, lowLatency)
	case sysPebble:
		return openPebble(s.Dir, s.Partitions, durable)
	}
	return nil, fmt.Errorf("unknown system %q", s.System)
}
