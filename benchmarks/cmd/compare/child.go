package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"
)

// runChild runs one spec and prints its result as JSON on stdout.
func runChild(arg string) error {
	var s spec
	if err := json.Unmarshal([]byte(arg), &s); err != nil {
		return fmt.Errorf("child spec: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var res result
	var err error
	if s.Kind == kindLatency {
		res, err = runLatency(ctx, s)
	} else {
		res, err = runThroughput(ctx, s)
	}
	res.Spec = s
	if err != nil {
		res.Err = err.Error()
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// profile starts a CPU profile to path+suffix if path is set and returns
// its stop function.
func profile(path, suffix string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// onPartitions runs f for every partition at once and returns the first
// error.
func onPartitions(n int, f func(p int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for p := range n {
		wg.Go(func() { errs[p] = f(p) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// runThroughput produces the spec's records, one goroutine per partition,
// then consumes them all back, one reader per partition.
func runThroughput(ctx context.Context, s spec) (res result, err error) {
	src := newSource(s.Partitions, s.ValueSize)
	sys, err := openSystem(ctx, s)
	if err != nil {
		return res, err
	}
	res.Options = sys.options()
	defer func() {
		if cerr := sys.close(); cerr != nil && err == nil {
			err = cerr
		}
		res.DiskBytes, res.FileBytes = diskUsage(s.Dir)
	}()
	stop := make(chan struct{})
	if s.MaxTime > 0 {
		t := time.AfterFunc(s.MaxTime, func() { close(stop) })
		defer t.Stop()
	}
	sent := make([]int, s.Partitions)
	runtime.GC()
	end := profile(s.CPUProfile, ".produce")
	start := time.Now()
	err = onPartitions(s.Partitions, func(p int) error {
		var err error
		sent[p], err = sys.produce(ctx, src, p, share(s.Records, s.Partitions, p), stop)
		return err
	})
	res.ProduceSeconds = time.Since(start).Seconds()
	end()
	for _, n := range sent {
		res.Produced += n
	}
	res.Capped = res.Produced < s.Records
	if err != nil {
		return res, fmt.Errorf("produce: %w", err)
	}
	runtime.GC()
	end = profile(s.CPUProfile, ".consume")
	start = time.Now()
	err = onPartitions(s.Partitions, func(p int) error { return sys.consume(ctx, p, sent[p]) })
	res.ConsumeSeconds = time.Since(start).Seconds()
	end()
	res.Consumed = res.Produced
	if err != nil {
		return res, fmt.Errorf("consume: %w", err)
	}
	return res, nil
}

// Latency records carry the send time (ns since the run's base time) in
// their first 8 bytes, and in the 9th whether they are measured (1) or
// warm-up (0).
func runLatency(ctx context.Context, s spec) (res result, err error) {
	src := newSource(s.Partitions, s.ValueSize)
	sys, err := openSystem(ctx, s)
	if err != nil {
		return res, err
	}
	res.Options = sys.options()
	defer func() {
		if cerr := sys.close(); cerr != nil && err == nil {
			err = cerr
		}
		res.DiskBytes, res.FileBytes = diskUsage(s.Dir)
	}()
	warm := s.Duration / 10
	total := s.Rate * int(s.Duration/time.Millisecond) / 1000
	warmN := s.Rate * int(warm/time.Millisecond) / 1000
	base := time.Now()

	var mu sync.Mutex
	lat := make([]int64, 0, total)
	received := 0
	all := make(chan struct{})
	tailCtx, stopTail := context.WithCancel(ctx)
	defer stopTail()
	tailErr := make(chan error, s.Partitions)
	for p := range s.Partitions {
		ready := make(chan struct{})
		go func() {
			tailErr <- sys.tail(tailCtx, p, ready, func(v []byte) {
				now := time.Since(base).Nanoseconds()
				mu.Lock()
				defer mu.Unlock()
				if v[8] == 1 {
					lat = append(lat, now-int64(binary.LittleEndian.Uint64(v)))
				}
				if received++; received == warmN+total {
					close(all)
				}
			})
		}()
		select {
		case <-ready:
		case err := <-tailErr:
			return res, fmt.Errorf("tail: %w", err)
		}
	}
	end := profile(s.CPUProfile, ".latency")
	defer end()
	if _, err := pace(ctx, sys, src, s, warmN, 0, base); err != nil {
		return res, err
	}
	start := time.Now()
	sent, err := pace(ctx, sys, src, s, total, 1, base)
	if err != nil {
		return res, err
	}
	res.ProduceSeconds = time.Since(start).Seconds()
	res.Produced = sent
	// A system that cannot keep up has a growing backlog: give it
	// MaxTime to drain, then rate what arrived.
	waitCtx, cancel := context.WithTimeout(ctx, s.MaxTime)
	defer cancel()
	if err := sys.flush(waitCtx); err != nil && waitCtx.Err() == nil {
		return res, fmt.Errorf("flush: %w", err)
	}
	select {
	case <-all:
	case err := <-tailErr:
		return res, fmt.Errorf("tail: %w", err)
	case <-waitCtx.Done():
	}
	stopTail()
	mu.Lock()
	defer mu.Unlock()
	res.Saturated = sent < total || received < warmN+total
	if len(lat) == 0 {
		return res, fmt.Errorf("no record arrived")
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))]) / 1e6 }
	res.P50, res.P99, res.P999, res.Samples = q(0.50), q(0.99), q(0.999), len(lat)
	res.Consumed = len(lat)
	return res, nil
}

// pace sends n records at s.Rate, spread over the partitions in turn:
// every 100µs or so it sends all records that are due, so a late wake-up
// is made up at once and the rate holds. It gives up, returning how many
// it sent, once it is behind by half the run's length: the system blocks
// its producer and cannot sustain the rate.
func pace(ctx context.Context, sys system, src *source, s spec, n int, measured byte, base time.Time) (int, error) {
	interval := time.Second / time.Duration(s.Rate)
	start := time.Now()
	late := time.Duration(n) * interval / 2
	for i := 0; i < n; {
		due := min(n, int(time.Since(start)/interval)+1)
		for ; i < due; i++ {
			if i%100 == 0 && time.Since(start)-time.Duration(i)*interval > late {
				return i, nil
			}
			p := i % s.Partitions
			key, v := src.record(p, i)
			value := make([]byte, len(v))
			copy(value, v)
			binary.LittleEndian.PutUint64(value, uint64(time.Since(base).Nanoseconds()))
			value[8] = measured
			if err := sys.send(ctx, p, key, value); err != nil {
				return i, fmt.Errorf("send: %w", err)
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	return n, nil
}

// diskUsage returns the space dir's files take on disk (allocated blocks)
// and the sum of their sizes.
func diskUsage(dir string) (allocated, size int64) {
	if dir == "" {
		return 0, 0
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				allocated += st.Blocks * 512
			}
			size += info.Size()
		}
		return nil
	})
	return allocated, size
}
