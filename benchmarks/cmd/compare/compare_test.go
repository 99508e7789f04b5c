package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary stand in for the command: run re-executes
// itself with -child for every measurement, as the command does.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-child" {
		if err := runChild(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestStats(t *testing.T) {
	require.Equal(t, stat{med: 2, min: 1, max: 9, n: 3}, stats([]float64{9, 1, 2}))
	require.Equal(t, stat{med: 2.5, min: 1, max: 9, n: 4}, stats([]float64{3, 9, 1, 2}))
	require.Equal(t, stat{}, stats(nil))
}

// fake returns throughput results of one system for a measurement key,
// one per rate (a repetition each), with produce and consume at rate.
func fake(system, key string, rates ...float64) []result {
	var out []result
	var s spec
	_, err := fmt.Sscanf(strings.ReplaceAll(key, "/", " "), "throughput %s %dp %dB", &s.Mode, &s.Partitions, &s.ValueSize)
	if err != nil {
		panic(err)
	}
	s.Kind, s.System = kindThroughput, system
	for rep, r := range rates {
		s.Rep = rep
		out = append(out, result{Spec: s, Produced: int(r), ProduceSeconds: 1, Consumed: int(r), ConsumeSeconds: 1})
	}
	return out
}

// The report takes medians over repetitions, rates Cairn against each
// peer by the ratio of medians with the range of per-repetition ratios,
// and says which targets are met and by how much the others are missed;
// failed runs are left out, and capped or saturated ones are marked.
func TestReport(t *testing.T) {
	fast1, fast8 := "throughput/fast/1p/100B", "throughput/fast/8p/100B"
	var rs []result
	rs = append(rs, fake(sysCairn, fast1, 2e6, 3e6, 4e6)...)
	rs = append(rs, fake(sysKfake, fast1, 1e6, 1e6, 2e6)...)     // 3×: met
	rs = append(rs, fake(sysJetStream, fast1, 1e5, 2e5, 4e5)...) // 15×: met
	rs = append(rs, fake(sysCairn, fast8, 1e6, 1e6, 1e6)...)
	rs = append(rs, fake(sysKfake, fast8, 1e6, 1e6, 1e6)...) // 1×: missed, 67%
	failed := fake(sysKfake, fast8, 1)[0]
	failed.Spec.Rep, failed.Err = 3, "boom"
	rs = append(rs, failed)
	durable := fake(sysJetStream, "throughput/durable/1p/100B", 3e3)[0]
	durable.Capped = true
	rs = append(rs, durable, fake(sysCairn, "throughput/durable/1p/100B", 3e6)[0])
	lat := func(system string, p99 float64, saturated bool) result {
		return result{Spec: spec{System: system, Kind: kindLatency, Mode: modeFast, Partitions: 1, ValueSize: 100},
			P50: p99 / 2, P99: p99, P999: 2 * p99, Saturated: saturated}
	}
	rs = append(rs, lat(sysCairn, 0.5, false), lat(sysJetStream, 0.4, true))

	md := report(environment{Date: "d", Machine: "m", Go: "g", Cairn: "c", Load: "l", Run: "r"},
		config{rate: 50_000, durableMax: 20 * time.Second}, allSystems, rs)
	line := func(prefix string) string {
		for _, l := range strings.Split(md, "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("no line %q in\n%s", prefix, md)
		return ""
	}
	require.Contains(t, line("| produce 100 B, 1 partition |"), "| 3.00M (2.00M–4.00M) |")
	require.Contains(t, line("| produce 100 B, 1 partition |"), "**15.0×** (10.0–20.0)")
	require.Contains(t, line("| produce 100 B, 1 partition |"), "**3.00×** (2.00–3.00)")
	require.Contains(t, line("| produce 100 B, 8 partitions |"), "| 1.00M (1.00M–1.00M) | – |", "the failed run is left out")
	require.Contains(t, line("| durable produce 100 B, 1 partition |"), "| 3.0k † |", "one repetition: no range")
	require.Contains(t, line("| latency p99 |"), "| 0.40 ‡ |")
	require.Contains(t, line("| produce, 1 partition: ≥ 1.5× kfake |"), "| met |")
	require.Contains(t, line("| consume, 1 partition: ≥ 5× JetStream |"), "| met |")
	require.Contains(t, line("| produce, 8 partitions: ≥ 1.5× kfake |"), "**missed** (67% of the target)")
	require.Contains(t, line("| durable produce, 1 partition: ≥ 10× JetStream SyncAlways |"), "| met |")
	require.Contains(t, line("| p99 latency ≤ JetStream's |"), "**missed** (1.25× JetStream's)")
	require.NotContains(t, md, "produce, 8 partitions: ≥ 10× JetStream", "no JetStream run, no verdict")
}

// The whole command on a tiny workload: every system runs every
// measurement in a child process without error, and the report, its
// JSON and the chart are written.
func TestCompareQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 40 child processes")
	}
	out := t.TempDir()
	c := config{out: out, dataDir: t.TempDir(), reps: 1, records: 4_000, bigRecords: 1_000,
		rate: 2_000, duration: 500 * time.Millisecond, durableMax: time.Second, systems: strings.Join(allSystems, ",")}
	require.NoError(t, run(c))

	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	require.NoError(t, err)
	var s saved
	require.NoError(t, json.Unmarshal(raw, &s))
	runs := map[string]bool{}
	for _, r := range s.Results {
		require.Empty(t, r.Err, "%s %s", r.Spec.System, r.Spec.key())
		runs[r.Spec.System+" "+r.Spec.key()] = true
		if r.Spec.Kind == kindThroughput {
			require.Positive(t, r.Produced, "%s %s", r.Spec.System, r.Spec.key())
			if !r.Capped {
				require.Equal(t, r.Spec.Records, r.Produced, "%s %s", r.Spec.System, r.Spec.key())
			}
			require.Equal(t, r.Produced, r.Consumed, "%s %s", r.Spec.System, r.Spec.key())
		} else {
			require.Positive(t, r.Samples, "%s %s", r.Spec.System, r.Spec.key())
		}
		require.Positive(t, r.MaxRSS)
	}
	require.Len(t, runs, 4*len(matrix(c))-3, "every system in every measurement; kfake in no durable one")

	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "| produce 100 B, 8 partitions |")
	require.Contains(t, string(md), "Targets (issue 7)")
	for _, f := range []string{"chart.svg", "chart.png"} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err)
		require.Positive(t, st.Size(), f)
	}
}
