//go:build unix

package cairn_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// The crash test re-runs the test binary as a child that appends with
// SyncAlways and prints an "ack" line after every acknowledged append. The
// parent SIGKILLs the child at a random moment, reopens the data directory
// and checks that every acknowledged record reads back byte-identical, that
// offsets are dense from 0, that every stored batch is whole and well-formed
// (appends that were durable but not yet acknowledged may survive), and that
// nothing seen after one crash is lost or changed by a later one.
//
// CAIRN_CRASH_SEED fixes the seed. The kill timing still depends on the
// scheduler, so a seed reproduces the workload, not the exact interleaving.
const (
	crashChildEnv = "CAIRN_CRASH_CHILD" // the data dir; set only in the child
	crashRunEnv   = "CAIRN_CRASH_RUN"   // the child's run number
	crashSeedEnv  = "CAIRN_CRASH_SEED"
	crashWorkers  = 6 // appending goroutines in the child
)

// crashTopics are appended to by the child: one stored as produced, one
// compressed, so that recovery covers both paths through the codecs.
var crashTopics = []struct {
	name       string
	partitions int
	cfg        cairn.TopicConfig
}{
	{"crash-plain", 3, nil},
	{"crash-zstd", 2, cairn.TopicConfig{"compression.type": "zstd"}},
}

// ack is one acknowledged append as the child reported it.
type ack struct {
	topic     string
	partition int32
	base      int64
	batch     string // batch id; batchRecords regenerates the records
}

func TestCrashRecovery(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "bad %s", crashSeedEnv)
	}
	t.Logf("seed %d (set %s=%d to rerun)", seed, crashSeedEnv, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("failed with seed %d", seed)
		}
	})
	runs := 20
	if testing.Short() {
		runs = 5
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	cl := crashLog{seen: map[string][]string{}, want: map[string][]cairn.Record{}}
	var acked, early int
	for run := range runs {
		fromStart := rng.IntN(4) == 0 // kill anywhere, even during Open
		delay := time.Duration(20+rng.IntN(181)) * time.Millisecond
		if fromStart {
			delay = time.Duration(rng.IntN(300)) * time.Millisecond
			early++
		}
		acks := crashRun(t, dir, seed, run, fromStart, delay)
		acked += len(acks)
		cl.verify(t, dir, run, acks)
	}
	require.NotZero(t, acked, "the child never acknowledged an append")
	var stored int
	for _, keys := range cl.seen {
		stored += len(keys)
	}
	t.Logf("%d kills (%d timed from process start), %d acknowledged batches, %d records stored",
		runs, early, acked, stored)
}

// crashRun starts a child on dir, kills it with SIGKILL delay after it
// starts (fromStart) or after its first acknowledgement, and returns the
// appends it acknowledged.
func crashRun(t *testing.T, dir string, seed uint64, run int, fromStart bool, delay time.Duration) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(),
		crashChildEnv+"="+dir,
		crashRunEnv+"="+strconv.Itoa(run),
		crashSeedEnv+"="+strconv.FormatUint(seed, 10),
		// Under -race the child would report a race only at exit, which the
		// kill prevents: make it exit at the first one instead.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" halt_on_error=1"))
	out := &ackWriter{first: make(chan struct{})}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait() // returns once the child is gone and its output copied
		close(exited)
	}()
	if !fromStart {
		select {
		case <-out.first:
		case <-exited:
		case <-time.After(30 * time.Second):
		}
	}
	select {
	case <-time.After(delay):
		_ = cmd.Process.Signal(syscall.SIGKILL) // fails only if the child is gone
	case <-exited:
	}
	<-exited
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("run %d: child ended on its own before the kill (%v)\nstdout:\n%s\nstderr:\n%s",
			run, waitErr, out.rest(), stderr.String())
	}
	if !fromStart && out.acked() == 0 {
		t.Fatalf("run %d: no acknowledgement within 30s\nstdout:\n%s\nstderr:\n%s", run, out.rest(), stderr.String())
	}
	if fails := out.fails(); fails != "" {
		t.Fatalf("run %d: the child failed:\n%s\nstderr:\n%s", run, fails, stderr.String())
	}
	acks, err := out.acks()
	require.NoError(t, err, "run %d", run)
	return acks
}

// crashLog is what the parent knows of the data directory between runs.
type crashLog struct {
	seen map[string][]string       // "topic/partition" -> record keys by offset at the last reopen
	want map[string][]cairn.Record // batch id -> its records, generated once
}

// verify opens dir and checks it against the acknowledged appends of the
// last run and the records seen after earlier runs, which it extends.
func (cl *crashLog) verify(t *testing.T, dir string, run int, acks []ack) {
	t.Helper()
	ctx := context.Background()
	b, err := cairn.Open(dir, &cairn.Options{Durability: cairn.SyncAlways})
	require.NoError(t, err, "run %d: reopen after kill", run)
	defer func() { require.NoError(t, b.Close()) }()

	byPart := map[string][]ack{}
	for _, a := range acks {
		k := fmt.Sprintf("%s/%d", a.topic, a.partition)
		byPart[k] = append(byPart[k], a)
	}
	batches := map[string]string{} // batch id -> where it is stored, over all partitions
	for _, tp := range crashTopics {
		if _, err := b.DescribeTopic(ctx, tp.name); errors.Is(err, cairn.ErrUnknownTopic) {
			// Killed before the child created it: then nothing was written.
			for p := range tp.partitions {
				require.Empty(t, byPart[fmt.Sprintf("%s/%d", tp.name, p)], "run %d: acks for missing topic %s", run, tp.name)
			}
			continue
		}
		for p := range int32(tp.partitions) {
			where := fmt.Sprintf("%s/%d", tp.name, p)
			keys := cl.partition(t, b, run, tp.name, p, batches)
			for _, a := range byPart[where] {
				n := int64(batchLen(a.batch))
				require.LessOrEqual(t, a.base+n, int64(len(keys)), "run %d: %s: acked batch %s at %d lost", run, where, a.batch, a.base)
				for j := range n {
					// The stored records matched their keys in cl.partition.
					require.Equal(t, fmt.Sprintf("%s/%d", a.batch, j), keys[a.base+j],
						"run %d: %s: acked batch %s at %d", run, where, a.batch, a.base)
				}
			}
			prev := cl.seen[where]
			require.GreaterOrEqual(t, len(keys), len(prev), "run %d: %s lost records a previous reopen had", run, where)
			for i := range prev {
				require.Equal(t, prev[i], keys[i], "run %d: %s offset %d changed since a previous reopen", run, where, i)
			}
			cl.seen[where] = keys
		}
	}
}

// partition reads a whole partition and checks that it holds whole batches
// of well-formed records at dense offsets from 0. It returns the record
// keys by offset and adds the partition's batch ids to batches, failing on
// one stored twice.
func (cl *crashLog) partition(t *testing.T, b *cairn.Broker, run int, topic string, p int32, batches map[string]string) []string {
	t.Helper()
	where := fmt.Sprintf("%s/%d", topic, p)
	start, hwm, err := b.Watermarks(topic, p)
	require.NoError(t, err)
	require.Zero(t, start, "run %d: %s log start", run, where)
	recs, err := b.Read(context.Background(), topic, p, 0, 1<<30)
	require.NoError(t, err, "run %d: read %s", run, where)
	require.Len(t, recs, int(hwm), "run %d: %s records up to the high watermark %d", run, where, hwm)

	keys := make([]string, len(recs))
	for i := 0; i < len(recs); {
		id, idx, ok := parseRecordKey(recs[i].Key)
		require.True(t, ok, "run %d: %s offset %d: foreign key %q", run, where, i, recs[i].Key)
		require.Zero(t, idx, "run %d: %s offset %d: batch %s starts at record %d", run, where, i, id, idx)
		if other, dup := batches[id]; dup {
			t.Fatalf("run %d: batch %s stored twice, in %s and at %s offset %d", run, id, other, where, i)
		}
		batches[id] = where
		want, ok := cl.want[id]
		if !ok {
			want = batchRecords(id)
			cl.want[id] = want
		}
		require.LessOrEqual(t, i+len(want), len(recs), "run %d: %s: batch %s cut short", run, where, id)
		for j, w := range want {
			if d := recordDiff(w, recs[i+j], int64(i+j)); d != "" {
				t.Fatalf("run %d: %s offset %d (batch %s record %d): %s", run, where, i+j, id, j, d)
			}
			keys[i+j] = string(w.Key)
		}
		i += len(want)
	}
	return keys
}

// recordDiff says how got differs from want stored at offset, byte for
// byte (nil and empty values differ, as in Kafka), or returns "".
func recordDiff(want, got cairn.Record, offset int64) string {
	switch {
	case got.Offset != offset:
		return fmt.Sprintf("offset %d", got.Offset)
	case !bytes.Equal(got.Key, want.Key):
		return fmt.Sprintf("key %q, want %q", got.Key, want.Key)
	case (got.Value == nil) != (want.Value == nil) || !bytes.Equal(got.Value, want.Value):
		return fmt.Sprintf("value of %d bytes (nil %t), want %d (nil %t)",
			len(got.Value), got.Value == nil, len(want.Value), want.Value == nil)
	case len(got.Headers) != len(want.Headers):
		return fmt.Sprintf("%d headers, want %d", len(got.Headers), len(want.Headers))
	case got.Timestamp.UnixMilli() != want.Timestamp.UnixMilli():
		return fmt.Sprintf("timestamp %d, want %d", got.Timestamp.UnixMilli(), want.Timestamp.UnixMilli())
	}
	for i, h := range want.Headers {
		if g := got.Headers[i]; g.Key != h.Key || !bytes.Equal(g.Value, h.Value) {
			return fmt.Sprintf("header %d is %q=%x, want %q=%x", i, g.Key, g.Value, h.Key, h.Value)
		}
	}
	return ""
}

// TestCrashChild is the child process of TestCrashRecovery. Run directly,
// without the environment variable, it does nothing: it is not a test of
// its own.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		return // only meaningful as TestCrashRecovery's child
	}
	run, err := strconv.Atoi(os.Getenv(crashRunEnv))
	require.NoError(t, err)
	seed, err := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	require.NoError(t, err)
	ctx := context.Background()
	b, err := cairn.Open(dir, &cairn.Options{Durability: cairn.SyncAlways})
	require.NoError(t, err)
	for _, tp := range crashTopics {
		err := b.CreateTopic(ctx, tp.name, tp.partitions, tp.cfg)
		if !errors.Is(err, cairn.ErrTopicExists) {
			require.NoError(t, err)
		}
	}
	// Workers append until the parent kills the process; several share each
	// partition so appends meet in group commits. The first error ends the
	// process at once, reported on a "fail" line and by the exit status.
	fail := func(format string, args ...any) {
		_, _ = os.Stdout.Write([]byte("fail " + fmt.Sprintf(format, args...) + "\n"))
		os.Exit(3)
	}
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(run)<<16|uint64(w)))
			for s := 0; ; s++ {
				tp := crashTopics[rng.IntN(len(crashTopics))]
				p := int32(rng.IntN(tp.partitions))
				id := fmt.Sprintf("%d.%d.%d", run, w, s)
				base, err := b.Append(ctx, tp.name, p, batchRecords(id)...)
				if err != nil {
					fail("append %s to %s/%d: %v", id, tp.name, p, err)
				}
				// One Write per line: the parent never sees lines interleave.
				line := fmt.Sprintf("ack %s %d %d %s\n", tp.name, p, base, id)
				if _, err := os.Stdout.Write([]byte(line)); err != nil {
					os.Exit(4) // the parent is gone
				}
			}
		})
	}
	wg.Wait() // never returns: the workers run until killed
}

// batchRecords returns the records of batch id "run.worker.seq": one to
// five, each derived from its key alone.
func batchRecords(id string) []cairn.Record {
	recs := make([]cairn.Record, batchLen(id))
	for i := range recs {
		recs[i] = recordFor(fmt.Sprintf("%s/%d", id, i))
	}
	return recs
}

// batchLen returns the number of records in batch id.
func batchLen(id string) int {
	h := sha256.Sum256([]byte(id))
	return 1 + int(h[0])%5
}

// parseRecordKey splits a key made by batchRecords into batch id and index.
func parseRecordKey(key []byte) (id string, idx int, ok bool) {
	id, n, found := strings.Cut(string(key), "/")
	if !found || strings.Count(id, ".") != 2 {
		return "", 0, false
	}
	idx, err := strconv.Atoi(n)
	return id, idx, err == nil
}

// recordFor derives a record from its key: a value that is sometimes nil,
// sometimes empty, sometimes spans WAL blocks, a few headers and a
// millisecond timestamp.
func recordFor(key string) cairn.Record {
	h := sha256.Sum256([]byte(key))
	r := cairn.Record{Key: []byte(key)}
	var n int
	switch h[0] % 64 {
	case 0:
		n = -1 // nil: a tombstone
	case 1, 2:
		n = 0
	case 3:
		n = 32<<10 + int(binary.BigEndian.Uint16(h[1:]))%(8<<10) // over one 32 KiB WAL block
	default:
		n = 1 + int(binary.BigEndian.Uint16(h[1:]))%256
	}
	if n >= 0 {
		r.Value = make([]byte, n)
		_, _ = rand.NewChaCha8(h).Read(r.Value)
	}
	for i := range int(h[3]) % 4 {
		r.Headers = append(r.Headers, cairn.Header{Key: fmt.Sprintf("h%d", i), Value: h[4+4*i : 8+4*i]})
	}
	r.Timestamp = time.UnixMilli(1_700_000_000_000 + int64(binary.BigEndian.Uint32(h[20:])))
	return r
}

// ackWriter collects the child's stdout. Only complete lines count: the
// kill may cut the last one short.
type ackWriter struct {
	first chan struct{} // closed at the first ack line
	mu    sync.Mutex
	buf   []byte
	lines []string
	once  sync.Once
}

func (w *ackWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		w.lines = append(w.lines, line)
		if strings.HasPrefix(line, "ack ") {
			w.once.Do(func() { close(w.first) })
		}
	}
}

// acks parses the complete ack lines.
func (w *ackWriter) acks() ([]ack, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []ack
	for _, line := range w.lines {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "ack" {
			continue // the testing package's own output
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("bad ack line %q", line)
		}
		p, err1 := strconv.ParseInt(f[2], 10, 32)
		base, err2 := strconv.ParseInt(f[3], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("bad ack line %q: %w", line, err)
		}
		out = append(out, ack{topic: f[1], partition: int32(p), base: base, batch: f[4]})
	}
	return out, nil
}

// acked returns the number of complete ack lines.
func (w *ackWriter) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, line := range w.lines {
		if strings.HasPrefix(line, "ack ") {
			n++
		}
	}
	return n
}

// fails returns the child's "fail" lines.
func (w *ackWriter) fails() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var sb strings.Builder
	for _, line := range w.lines {
		if strings.HasPrefix(line, "fail ") {
			sb.WriteString(line + "\n")
		}
	}
	return sb.String()
}

// rest returns the child's output other than ack lines, for failures.
func (w *ackWriter) rest() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var sb strings.Builder
	for _, line := range w.lines {
		if !strings.HasPrefix(line, "ack ") {
			sb.WriteString(line + "\n")
		}
	}
	sb.Write(w.buf)
	return sb.String()
}
