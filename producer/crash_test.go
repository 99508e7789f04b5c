package producer_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

const (
	crashDirEnv = "CAIRN_PRODUCER_CRASH_DIR" // set in the child: its data directory
	crashRunEnv = "CAIRN_PRODUCER_CRASH_RUN"
	crashTopic  = "crash"
	crashParts  = 3
)

// A child process produces with SyncAlways and the default of five batches
// per partition appending at once, printing every record whose promise
// reported success; the test kills it with SIGKILL at a random point, and
// after each kill every acknowledged record must be stored at the offset
// its promise gave, and no record stored twice.
func TestProducerCrash(t *testing.T) {
	runs := 6
	if testing.Short() {
		runs = 3
	}
	dir := t.TempDir()
	var acked int
	for run := range runs {
		acks := producerCrashRun(t, dir, run, time.Duration(20+run*30)*time.Millisecond)
		acked += len(acks)
		b, err := cairn.Open(dir, nil)
		require.NoError(t, err)
		stored := map[string]int{}
		byOffset := map[[2]int64]string{}
		for p := range crashParts {
			recs, err := b.Read(ctx, crashTopic, int32(p), 0, 1<<30)
			require.NoError(t, err)
			for _, r := range recs {
				stored[string(r.Value)]++
				byOffset[[2]int64{int64(p), r.Offset}] = string(r.Value)
			}
		}
		require.NoError(t, b.Close())
		for v, n := range stored {
			require.Equal(t, 1, n, "run %d: record %s stored %d times", run, v, n)
		}
		for _, a := range acks {
			require.Equal(t, a.value, byOffset[[2]int64{a.partition, a.offset}],
				"run %d: acknowledged record at partition %d offset %d", run, a.partition, a.offset)
		}
	}
	require.NotZero(t, acked, "the child never acknowledged a record")
	t.Logf("%d kills, %d acknowledged records checked", runs, acked)
}

type producerAck struct {
	partition, offset int64
	value             string
}

// producerCrashRun starts the child on dir, kills it delay after its first
// acknowledgement, and returns what it acknowledged.
func producerCrashRun(t *testing.T, dir string, run int, delay time.Duration) []producerAck {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProducerCrashChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var acks []producerAck
	var kill <-chan time.Time // armed by the first acknowledgement
	for killed := false; ; {
		select {
		case line, ok := <-lines:
			if !ok {
				require.True(t, killed, "the child exited by itself")
				_ = cmd.Wait() // killed: an error by design
				return acks
			}
			f := strings.Fields(line)
			require.Len(t, f, 4, "child said %q", line)
			require.Equal(t, "ack", f[0], "child said %q", line)
			p, err1 := strconv.ParseInt(f[1], 10, 32)
			off, err2 := strconv.ParseInt(f[2], 10, 64)
			require.NoError(t, err1)
			require.NoError(t, err2)
			acks = append(acks, producerAck{p, off, f[3]})
			if kill == nil && !killed {
				kill = time.After(delay)
			}
		case <-kill:
			require.NoError(t, cmd.Process.Kill()) // SIGKILL
			killed, kill = true, nil
		}
	}
}

// TestProducerCrashChild is the child process of TestProducerCrash; run
// without its environment it does nothing.
func TestProducerCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	run := os.Getenv(crashRunEnv)
	b, err := cairn.Open(dir, &cairn.Options{Durability: cairn.SyncAlways})
	require.NoError(t, err)
	if err := b.CreateTopic(context.Background(), crashTopic, crashParts, nil); err != nil {
		require.ErrorIs(t, err, cairn.ErrTopicExists)
	}
	p, err := producer.New(context.Background(), b, nil)
	require.NoError(t, err)
	for seq := 0; ; seq++ {
		value := fmt.Sprintf("%s.%d", run, seq)
		p.Produce(context.Background(), &producer.Record{Topic: crashTopic, Key: []byte(value), Value: []byte(value)},
			func(r *producer.Record, err error) {
				if err != nil {
					os.Exit(3)
				}
				// One Write per line: a pipe write this small is atomic.
				line := fmt.Sprintf("ack %d %d %s\n", r.Partition, r.Offset, r.Value)
				if _, err := os.Stdout.Write([]byte(line)); err != nil {
					os.Exit(4) // the parent is gone
				}
			})
	}
}
