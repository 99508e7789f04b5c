package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// matrix lists the measurements of a run, without system or repetition.
func matrix(c config) []spec {
	var out []spec
	for _, mode := range []string{modeFast, modeDurable} {
		for _, p := range []int{1, 8} {
			s := spec{Kind: kindThroughput, Mode: mode, Partitions: p, ValueSize: 100, Records: c.records}
			if mode == modeDurable {
				s.MaxTime = c.durableMax
			}
			out = append(out, s)
		}
	}
	for _, p := range []int{1, 8} {
		out = append(out, spec{Kind: kindThroughput, Mode: modeFast, Partitions: p, ValueSize: 1024, Records: c.bigRecords})
	}
	for _, mode := range []string{modeFast, modeDurable} {
		out = append(out, spec{Kind: kindLatency, Mode: mode, Partitions: 1, ValueSize: 100, Rate: c.rate, Duration: c.duration, MaxTime: c.durableMax})
	}
	return out
}

// applies says whether system runs the measurement: kfake keeps nothing
// on disk, so it has no durable mode.
func applies(system string, s spec) bool {
	return !(system == sysKfake && s.Mode == modeDurable)
}

func run(c config) error {
	systems := strings.Split(c.systems, ",")
	for _, s := range systems {
		if !slices.Contains(allSystems, s) {
			return fmt.Errorf("unknown system %q (have %v)", s, allSystems)
		}
	}
	var only *regexp.Regexp
	if c.only != "" {
		var err error
		if only, err = regexp.Compile(c.only); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	if c.from != "" {
		return rewrite(c, systems)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if c.cpuProfile != "" {
		if err := os.MkdirAll(c.cpuProfile, 0o755); err != nil {
			return err
		}
	}
	env := describe(c)
	fmt.Fprintf(os.Stderr, "compare: %s\n", env.summary())

	specs := matrix(c)
	var results []result
	began := time.Now()
	for rep := range c.reps {
		for i, base := range specs {
			if only != nil && !only.MatchString(base.key()) {
				continue
			}
			// Rotate the order each measurement and repetition, so no system
			// always runs first or right after the same other one.
			k := (rep + i) % len(systems)
			order := slices.Concat(systems[k:], systems[:k])
			for _, sys := range order {
				s := base
				s.System, s.Rep = sys, rep
				if !applies(sys, s) {
					continue
				}
				if c.cpuProfile != "" {
					s.CPUProfile = filepath.Join(c.cpuProfile, fmt.Sprintf("%s.%s.%d", strings.ReplaceAll(s.key(), "/", "_"), sys, rep))
				}
				r := runOne(self, c.dataDir, s)
				fmt.Fprintf(os.Stderr, "[%5.0fs] rep %d %-28s %-9s %s\n", time.Since(began).Seconds(), rep+1, s.key(), sys, r.brief())
				results = append(results, r)
			}
		}
	}
	env.Load += " at the start, " + loadAvg() + " at the end"
	raw, err := json.MarshalIndent(saved{env, c.Run(), results}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.out, "results.json"), raw, 0o644); err != nil {
		return err
	}
	if err := write(c, env, systems, results); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "compare: wrote %s (results.md, results.json, chart.svg, chart.png) in %s\n", c.out, time.Since(began).Round(time.Second))
	return nil
}

// saved is the content of results.json.
type saved struct {
	Env     environment `json:"environment"`
	Config  runConfig   `json:"config"`
	Results []result    `json:"results"`
}

// rewrite writes the report and chart of an earlier run's results.json.
func rewrite(c config, systems []string) error {
	raw, err := os.ReadFile(c.from)
	if err != nil {
		return err
	}
	var s saved
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: %w", c.from, err)
	}
	c.apply(s.Config)
	return write(c, s.Env, systems, s.Results)
}

// write writes results.md and the chart, and prints the report.
func write(c config, env environment, systems []string, results []result) error {
	md := report(env, c, systems, results)
	if err := os.WriteFile(filepath.Join(c.out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := chart(filepath.Join(c.out, "chart"), env, systems, results); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}

// runOne runs s in a child process on a fresh data directory and adds the
// child's peak RSS to its result.
func runOne(self, dataDir string, s spec) result {
	dir, err := os.MkdirTemp(dataDir, "cairn-compare-")
	if err != nil {
		return result{Spec: s, Err: err.Error()}
	}
	defer os.RemoveAll(dir)
	if s.System == sysKfake {
		s.Dir = "" // in memory
	} else {
		s.Dir = filepath.Join(dir, "data")
	}
	arg, err := json.Marshal(s)
	if err != nil {
		return result{Spec: s, Err: err.Error()}
	}
	cmd := exec.Command(self, "-child", string(arg))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		msg := fmt.Sprintf("child failed: %v: %v; stderr: %s", runErr, err, tail(stderr.String(), 2000))
		return result{Spec: s, Err: msg}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return r
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// brief is a one-line progress report.
func (r result) brief() string {
	if r.Err != "" {
		return "ERROR: " + r.Err
	}
	rss := fmt.Sprintf("rss %s, disk %s (files %s)", mib(float64(r.MaxRSS)), mib(float64(r.DiskBytes)), mib(float64(r.FileBytes)))
	if r.Spec.Kind == kindLatency {
		sat := ""
		if r.Saturated {
			sat = fmt.Sprintf(" SATURATED: sent %d in %.1fs", r.Produced, r.ProduceSeconds)
		}
		return fmt.Sprintf("p50 %.2fms p99 %.2fms p99.9 %.2fms (%d samples)%s, %s", r.P50, r.P99, r.P999, r.Samples, sat, rss)
	}
	capped := ""
	if r.Capped {
		capped = " (capped)"
	}
	return fmt.Sprintf("produce %s/s%s, consume %s/s, %s", count(r.produceRate()), capped, count(r.consumeRate()), rss)
}
