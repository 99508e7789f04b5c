package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// stat is the median and range of one metric over repetitions.
type stat struct {
	med, min, max float64
	n             int
}

func stats(xs []float64) stat {
	if len(xs) == 0 {
		return stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med: med, min: s[0], max: s[len(s)-1], n: len(s)}
}

// row is one line of the main table.
type row struct {
	title  string
	key    string
	metric func(result) float64
	unit   string // "rec/s" or "ms"
}

func rows() []row {
	var out []row
	produce := func(r result) float64 { return r.produceRate() }
	consume := func(r result) float64 { return r.consumeRate() }
	for _, size := range []struct {
		name  string
		bytes int
	}{{"100 B", 100}, {"1 KiB", 1024}} {
		for _, what := range []struct {
			name string
			f    func(result) float64
		}{{"produce", produce}, {"consume", consume}} {
			for _, p := range []int{1, 8} {
				out = append(out, row{
					title:  fmt.Sprintf("%s %s, %s", what.name, size.name, partitions(p)),
					key:    fmt.Sprintf("throughput/%s/%dp/%dB", modeFast, p, size.bytes),
					metric: what.f, unit: "rec/s"})
			}
		}
		if size.bytes == 100 {
			for _, p := range []int{1, 8} {
				out = append(out, row{
					title:  fmt.Sprintf("durable produce %s, %s", size.name, partitions(p)),
					key:    fmt.Sprintf("throughput/%s/%dp/%dB", modeDurable, p, size.bytes),
					metric: produce, unit: "rec/s"})
			}
		}
	}
	for _, mode := range []string{modeFast, modeDurable} {
		for _, q := range []struct {
			name string
			f    func(result) float64
		}{{"p50", func(r result) float64 { return r.P50 }}, {"p99", func(r result) float64 { return r.P99 }}, {"p99.9", func(r result) float64 { return r.P999 }}} {
			prefix := "latency"
			if mode == modeDurable {
				prefix = "durable latency"
			}
			out = append(out, row{
				title:  fmt.Sprintf("%s %s", prefix, q.name),
				key:    fmt.Sprintf("latency/%s/1p/100B", mode),
				metric: q.f, unit: "ms"})
		}
	}
	return out
}

func partitions(p int) string {
	if p == 1 {
		return "1 partition"
	}
	return fmt.Sprintf("%d partitions", p)
}

// table indexes results by measurement key, system and repetition.
type table map[string]map[string]map[int]result

func index(results []result) table {
	t := table{}
	for _, r := range results {
		if r.Err != "" {
			continue
		}
		k := r.Spec.key()
		if t[k] == nil {
			t[k] = map[string]map[int]result{}
		}
		if t[k][r.Spec.System] == nil {
			t[k][r.Spec.System] = map[int]result{}
		}
		t[k][r.Spec.System][r.Spec.Rep] = r
	}
	return t
}

// values returns a metric over repetitions, and a footnote mark if a run
// was capped (†) or could not sustain the latency run's rate (‡).
func (t table) values(key, system string, f func(result) float64) (xs []float64, mark string) {
	for _, r := range t[key][system] {
		xs = append(xs, f(r))
		switch {
		case r.Capped:
			mark = " †"
		case r.Saturated:
			mark = " ‡"
		}
	}
	return xs, mark
}

// ratios pairs Cairn's repetitions with peer's: rep i of both ran close
// together in time.
func (t table) ratios(key, peer string, f func(result) float64) []float64 {
	var out []float64
	for rep, c := range t[key][sysCairn] {
		if p, ok := t[key][peer][rep]; ok && f(p) > 0 {
			out = append(out, f(c)/f(p))
		}
	}
	return out
}

// ratioOfMedians is Cairn's median over peer's.
func (t table) ratioOfMedians(key, peer string, f func(result) float64) float64 {
	c, _ := t.values(key, sysCairn, f)
	p, _ := t.values(key, peer, f)
	if len(c) == 0 || len(p) == 0 || stats(p).med == 0 {
		return math.NaN()
	}
	return stats(c).med / stats(p).med
}

func report(env environment, c config, systems []string, results []result) string {
	t := index(results)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Cairn against the alternatives\n\n")
	w("%s. %s; %s; load average %s. Cairn %s.\n\n", env.Date, env.Machine, env.Go, env.Load, env.Cairn)
	w("%s. Medians with min–max over repetitions; ratios are Cairn's median over the peer's, with the range of the per-repetition ratios. ", env.Run)
	w("Throughput in records/s (higher is better); latency in ms from `Produce` to the consumer (lower is better, so a ratio below 1 favours Cairn).\n\n")

	peers := slices.DeleteFunc(slices.Clone(systems), func(s string) bool { return s == sysCairn })
	w("| workload |")
	for _, s := range systems {
		w(" %s |", systemTitles[s])
	}
	for _, p := range peers {
		if slices.Contains(systems, sysCairn) {
			w(" Cairn/%s |", systemTitles[p])
		}
	}
	w("\n|---|%s%s\n", strings.Repeat("---:|", len(systems)), strings.Repeat("---:|", len(peers)*boolInt(slices.Contains(systems, sysCairn))))
	marks := map[string]bool{}
	for _, r := range rows() {
		if t[r.key] == nil {
			continue
		}
		w("| %s |", r.title)
		for _, s := range systems {
			xs, mark := t.values(r.key, s, r.metric)
			marks[mark] = true
			w(" %s%s |", cell(stats(xs), r.unit), mark)
		}
		if slices.Contains(systems, sysCairn) {
			for _, p := range peers {
				w(" %s |", ratioCell(t.ratioOfMedians(r.key, p, r.metric), stats(t.ratios(r.key, p, r.metric))))
			}
		}
		w("\n")
	}
	w("\n")
	if marks[" †"] {
		w("† Stopped after %v of producing (`-durable-max`) and rated over the records acknowledged by then: JetStream with `sync_always` fsyncs every message.\n\n", c.durableMax)
	}
	if marks[" ‡"] {
		w("‡ Could not sustain %d records/s: its producer blocked until the run gave up (at half the run's length behind schedule), or the backlog had not arrived %v after the last send. Percentiles are over the records that arrived, so the real tail is worse.\n\n", c.rate, c.durableMax)
	}
	writeResources(&b, t, systems)
	writeTargets(&b, t, systems)
	writeOptions(&b, env, systems, results)
	writeErrors(&b, results)
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeResources is the table of peak RSS and disk use per run.
func writeResources(b *strings.Builder, t table, systems []string) {
	fmt.Fprintf(b, "Resources, medians: peak RSS of each run's process (`getrusage` of the child, which also holds the workload's 64 Ki distinct keys and values) · bytes on disk after a clean close (allocated blocks, as `du`; in parentheses the sum of file sizes, as `du --apparent-size`):\n\n| run |")
	for _, s := range systems {
		fmt.Fprintf(b, " %s |", systemTitles[s])
	}
	fmt.Fprintf(b, "\n|---|%s\n", strings.Repeat("---:|", len(systems)))
	for _, s := range matrix(config{}) {
		k := s.key()
		if t[k] == nil {
			continue
		}
		fmt.Fprintf(b, "| %s |", runTitle(s))
		for _, sys := range systems {
			rss, _ := t.values(k, sys, func(r result) float64 { return float64(r.MaxRSS) })
			disk, _ := t.values(k, sys, func(r result) float64 { return float64(r.DiskBytes) })
			files, _ := t.values(k, sys, func(r result) float64 { return float64(r.FileBytes) })
			if len(rss) == 0 {
				fmt.Fprintf(b, " – |")
				continue
			}
			fmt.Fprintf(b, " %s · %s (%s) |", mib(stats(rss).med), mib(stats(disk).med), mib(stats(files).med))
		}
		fmt.Fprintf(b, "\n")
	}
	fmt.Fprintf(b, "\n")
}

func runTitle(s spec) string {
	size := "100 B"
	if s.ValueSize == 1024 {
		size = "1 KiB"
	}
	if s.Kind == kindLatency {
		return fmt.Sprintf("%s latency, %s", s.Mode, partitions(s.Partitions))
	}
	return fmt.Sprintf("%s %s, %s", s.Mode, size, partitions(s.Partitions))
}

// target is one of the goals: Cairn/peer on a row compared with a
// bound.
type target struct {
	what   string
	key    string
	peer   string
	f      func(result) float64
	bound  float64
	atMost bool // ratio must be <= bound (latency)
}

func targets() []target {
	produce := func(r result) float64 { return r.produceRate() }
	consume := func(r result) float64 { return r.consumeRate() }
	p99 := func(r result) float64 { return r.P99 }
	var out []target
	for _, p := range []int{1, 8} {
		fast := fmt.Sprintf("throughput/fast/%dp/100B", p)
		durable := fmt.Sprintf("throughput/durable/%dp/100B", p)
		out = append(out,
			target{fmt.Sprintf("produce, %s: ≥ 10× JetStream", partitions(p)), fast, sysJetStream, produce, 10, false},
			target{fmt.Sprintf("produce, %s: ≥ 1.5× kfake", partitions(p)), fast, sysKfake, produce, 1.5, false},
			target{fmt.Sprintf("consume, %s: ≥ 5× JetStream", partitions(p)), fast, sysJetStream, consume, 5, false},
			target{fmt.Sprintf("consume, %s: ≥ 1.5× kfake", partitions(p)), fast, sysKfake, consume, 1.5, false},
			target{fmt.Sprintf("durable produce, %s: ≥ 10× JetStream SyncAlways", partitions(p)), durable, sysJetStream, produce, 10, false},
		)
	}
	out = append(out,
		target{"p99 latency ≤ JetStream's", "latency/fast/1p/100B", sysJetStream, p99, 1, true},
		target{"p99 latency, durable modes, ≤ JetStream's", "latency/durable/1p/100B", sysJetStream, p99, 1, true})
	return out
}

func writeTargets(b *strings.Builder, t table, systems []string) {
	if !slices.Contains(systems, sysCairn) {
		return
	}
	fmt.Fprintf(b, "Targets (issue 7), on the 100-byte workload:\n\n| target | Cairn/peer (range) | |\n|---|---:|---|\n")
	for _, g := range targets() {
		r := t.ratioOfMedians(g.key, g.peer, g.f)
		if math.IsNaN(r) {
			continue
		}
		rg := stats(t.ratios(g.key, g.peer, g.f))
		met := r >= g.bound
		if g.atMost {
			met = r <= g.bound
		}
		verdict := "met"
		if !met {
			verdict = fmt.Sprintf("**missed** (%.0f%% of the target)", 100*r/g.bound)
			if g.atMost {
				verdict = fmt.Sprintf("**missed** (%.2f× JetStream's)", r)
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", g.what, ratioCell(r, rg), verdict)
	}
	fmt.Fprintf(b, "\n")
}

func writeOptions(b *strings.Builder, env environment, systems []string, results []result) {
	fmt.Fprintf(b, "Versions: ")
	var vs []string
	for _, d := range deps {
		if v, ok := env.Versions[d]; ok {
			vs = append(vs, fmt.Sprintf("`%s` %s", d, v))
		}
	}
	fmt.Fprintf(b, "%s.\n\nOptions:\n\n", strings.Join(vs, ", "))
	for _, s := range systems {
		seen := map[string]bool{}
		for _, r := range results {
			if r.Spec.System != s || r.Options == "" || seen[r.Spec.Mode+r.Spec.Kind] || r.Spec.Kind == kindLatency && s != sysKfake {
				continue
			}
			seen[r.Spec.Mode+r.Spec.Kind] = true
			fmt.Fprintf(b, "- %s, %s %s: %s\n", systemTitles[s], r.Spec.Mode, r.Spec.Kind, r.Options)
		}
	}
	fmt.Fprintf(b, "\n")
}

func writeErrors(b *strings.Builder, results []result) {
	first := true
	for _, r := range results {
		if r.Err == "" {
			continue
		}
		if first {
			fmt.Fprintf(b, "Failed runs:\n\n")
			first = false
		}
		fmt.Fprintf(b, "- %s %s rep %d: %s\n", r.Spec.key(), r.Spec.System, r.Spec.Rep+1, strings.ReplaceAll(r.Err, "\n", " "))
	}
	if !first {
		fmt.Fprintf(b, "\n")
	}
}

// cell formats a median with its range.
func cell(s stat, unit string) string {
	if s.n == 0 {
		return "–"
	}
	f := count
	if unit == "ms" {
		f = func(x float64) string { return fmt.Sprintf("%.2f", x) }
	}
	if s.n == 1 {
		return f(s.med)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.med), f(s.min), f(s.max))
}

func ratioCell(r float64, rg stat) string {
	if math.IsNaN(r) {
		return "–"
	}
	if rg.n <= 1 {
		return fmt.Sprintf("**%s×**", ratio(r))
	}
	return fmt.Sprintf("**%s×** (%s–%s)", ratio(r), ratio(rg.min), ratio(rg.max))
}

func ratio(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	case r < 0.1:
		return fmt.Sprintf("%.2g", r)
	}
	return fmt.Sprintf("%.2f", r)
}

// count formats a rate: 1.52M, 312k, 950.
func count(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e4:
		return fmt.Sprintf("%.0fk", x/1e3)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func mib(x float64) string {
	return fmt.Sprintf("%.0f MiB", x/(1<<20))
}
