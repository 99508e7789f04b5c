//go:build unix

package cairn_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// The compaction crash test re-runs the test binary as a child that
// appends to a compacted topic (SyncAlways) while a cleaner runs passes
// back to back in small atomic steps. The parent SIGKILLs the child once
// it has seen a cleaning pass finish, at a random moment, so most kills
// land inside a pass; then it reopens the directory and checks the
// invariants: every record left is the one written at its offset, folding
// the partition gives the map of everything written below the high
// watermark, Get agrees with it, nothing acknowledged was lost, and the
// tracked size matches the stored batches. The batch at offset 4j is a
// pure function of the seed and j, so the parent knows what every offset
// should hold.
const (
	ccChildEnv   = "CAIRN_COMPACT_CRASH_CHILD" // the data dir; set only in the child
	ccSeedEnv    = "CAIRN_COMPACT_CRASH_SEED"
	ccBatch      = 4   // records per batch
	ccKeys       = 150 // distinct keys
	ccTopic      = "tbl"
	ccTopicOpts  = "delete.retention.ms=0"
	ccChildStart = "start"
)

// ccRecords is the batch that starts at offset ccBatch*j.
func ccRecords(seed uint64, j int64) []cairn.Record {
	rng := rand.New(rand.NewPCG(seed, uint64(j)))
	recs := make([]cairn.Record, ccBatch)
	for i := range recs {
		recs[i] = kv(fmt.Sprint("k", rng.IntN(ccKeys)), "")
		if rng.IntN(5) > 0 {
			recs[i].Value = fmt.Appendf(nil, "v%d.%d", j, i)
		}
	}
	return recs
}

func ccOptions(fs vfs.FS) *cairn.Options {
	o := &cairn.Options{CleanupInterval: -1, FS: fs}
	o.Cleaner.KeyMapSize = 60
	o.Cleaner.StepBytes = 1024
	o.Cleaner.ReadBytes = 2048
	return o
}

func TestCompactionCrashChild(t *testing.T) {
	dir := os.Getenv(ccChildEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestCompactionCrash")
	}
	seed, _ := strconv.ParseUint(os.Getenv(ccSeedEnv), 10, 64)
	b, err := cairn.Open(dir, ccOptions(nil))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	err = b.CreateTopic(ctx, ccTopic, 1, compacted("delete.retention.ms", "0"))
	if err != nil && !strings.Contains(err.Error(), "exists") {
		fmt.Println("error", err)
		os.Exit(2)
	}
	go func() {
		for {
			if err := b.Cleanup(ctx); err != nil {
				fmt.Println("error", err)
				os.Exit(2)
			}
			fmt.Println("pass")
		}
	}()
	_, hwm, _ := b.Watermarks(ccTopic, 0)
	for j := hwm / ccBatch; ; j++ {
		if _, err := b.Append(ctx, ccTopic, 0, ccRecords(seed, j)...); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println("ack", ccBatch*(j+1))
	}
}

func TestCompactionCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := testSeed(t, ccSeedEnv)
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	var acked int64
	for run := range 10 {
		end, passes := ccRun(t, dir, seed, time.Duration(rng.IntN(60))*time.Millisecond)
		acked = max(acked, end)
		ccVerify(t, dir, seed, acked)
		t.Logf("run %d: acknowledged up to offset %d, %d cleanup rounds before the kill", run, acked, passes)
	}
}

// ccRun starts a child and kills it delay after its first finished pass.
// It returns the highest acknowledged end offset and the passes seen.
func ccRun(t *testing.T, dir string, seed uint64, delay time.Duration) (acked int64, passes int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCompactionCrashChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), ccChildEnv+"="+dir, ccSeedEnv+"="+strconv.FormatUint(seed, 10),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" halt_on_error=1"))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	killed := make(chan struct{})
	lines := bufio.NewScanner(out)
	var timer *time.Timer
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 2 && f[0] == "ack":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			acked = max(acked, n)
		case len(f) == 1 && f[0] == "pass":
			passes++
			if timer == nil {
				timer = time.AfterFunc(delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL); close(killed) })
			}
		case len(f) > 0 && f[0] == "error":
			t.Fatalf("child: %s", lines.Text())
		}
	}
	err = cmd.Wait()
	if timer == nil {
		t.Fatalf("child exited before a pass: %v\n%s", err, stderr.String())
	}
	<-killed
	return acked, passes
}

// ccVerify reopens dir and checks the invariants.
func ccVerify(t *testing.T, dir string, seed uint64, acked int64) {
	t.Helper()
	b, err := cairn.Open(dir, ccOptions(nil))
	require.NoError(t, err)
	defer b.Close()
	_, hwm, err := b.Watermarks(ccTopic, 0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, hwm, acked, "an acknowledged append was lost")
	require.Zero(t, hwm%ccBatch, "a torn batch")
	var written []cairn.Record
	for j := int64(0); j < hwm/ccBatch; j++ {
		written = append(written, ccRecords(seed, j)...)
	}
	got := readAll(t, b, ccTopic, 0)
	for _, r := range got {
		w := written[r.Offset]
		require.Equal(t, string(w.Key), string(r.Key), "offset %d", r.Offset)
		require.Equal(t, w.Value, r.Value, "offset %d", r.Offset)
	}
	want := table(written)
	require.Equal(t, want, table(got))
	for k := range ccKeys {
		key := fmt.Sprint("k", k)
		r, err := b.Get(ctx, ccTopic, []byte(key))
		if v, ok := want[key]; ok {
			require.NoError(t, err, key)
			require.Equal(t, v, string(r.Value), key)
		} else {
			require.ErrorIs(t, err, cairn.ErrKeyNotFound, key)
		}
	}
	f, err := b.Fetch(ctx, ccTopic, 0, 0, 1<<30)
	require.NoError(t, err)
	st, err := b.PartitionStats(ccTopic, 0)
	require.NoError(t, err)
	require.EqualValues(t, f.Bytes(), st.Bytes, "tracked size")
}
