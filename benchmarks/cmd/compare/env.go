package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// environment is what the report says about where and with what it ran.
type environment struct {
	Date     string            `json:"date"`
	Machine  string            `json:"machine"`
	Go       string            `json:"go"`
	Cairn    string            `json:"cairn"`
	Versions map[string]string `json:"versions"`
	Load     string            `json:"load"`
	Run      string            `json:"run"`
}

// deps are the modules whose versions the report records.
var deps = []string{
	"github.com/cockroachdb/pebble/v2",
	"github.com/nats-io/nats-server/v2",
	"github.com/nats-io/nats.go",
	"github.com/twmb/franz-go",
	"github.com/twmb/franz-go/pkg/kfake",
	"github.com/twmb/franz-go/pkg/kmsg",
}

func describe(c config) environment {
	e := environment{
		Date:     time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Go:       runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Versions: map[string]string{},
		Load:     loadAvg(),
	}
	e.Machine = fmt.Sprintf("%d cores (%s), %s RAM", runtime.NumCPU(), cpuModel(), memTotal())
	if out, err := exec.Command("git", "describe", "--always", "--dirty", "--abbrev=7").Output(); err == nil {
		e.Cairn = "commit " + strings.TrimSpace(string(out))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			for _, d := range deps {
				if m.Path == d {
					e.Versions[d] = m.Version
				}
			}
		}
	}
	kind := "full"
	if c.quick {
		kind = "quick (-quick)"
	}
	e.Run = fmt.Sprintf("%s run: %d repetition(s); %d records of 100 B, %d of 1 KiB; latency %d records/s for %v; durable produce capped at %v",
		kind, c.reps, c.records, c.bigRecords, c.rate, c.duration, c.durableMax)
	return e
}

func (e environment) summary() string {
	return fmt.Sprintf("%s; %s; %s; Cairn %s; load %s", e.Run, e.Machine, e.Go, e.Cairn, e.Load)
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name")
}

func memTotal() string {
	v := procField("/proc/meminfo", "MemTotal")
	var kb int64
	if _, err := fmt.Sscanf(v, "%d kB", &kb); err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// procField returns the value of the first "name: value" line of a /proc
// file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
