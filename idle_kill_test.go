//go:build unix

package cairn_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// NoSync and SyncInterval say a process kill loses at most the appends of
// the last SyncInterval. Pebble held the WAL block it was filling in
// memory until it was full or synced, so under NoSync a kill lost the
// appends of any age that had not filled one. The child appends a few small batches,
// commits an offset, reports it, and then idles; the parent kills it a
// second later, long after those appends were acknowledged, and reopens:
// everything must be there.
const idleKillChildEnv = "CAIRN_IDLE_KILL_CHILD" // "durability|dir"; set only in the child

func TestIdleKillChild(t *testing.T) {
	b, _ := openKillChild(t, idleKillChildEnv, "TestIdleKillKeepsAcknowledged")
	must(b.CreateTopic(ctx, "t", 1, nil))
	for i := range 20 {
		_, err := b.Append(ctx, "t", 0, kv(fmt.Sprint("k", i), "v"))
		must(err)
	}
	must(b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{{Topic: "t", Partition: 0}: {Offset: 7}}}))
	fmt.Println("acked")
	select {} // idle until killed
}

func TestIdleKillKeepsAcknowledged(t *testing.T) {
	for _, dur := range []cairn.Durability{cairn.NoSync, cairn.SyncInterval} {
		t.Run(dur.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestIdleKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d|%s", idleKillChildEnv, dur, dir))
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "acked", strings.TrimSpace(line))
			// Far longer than "the last few milliseconds".
			time.Sleep(time.Second)
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()

			b, err := cairn.Open(dir, &cairn.Options{Durability: dur, CleanupInterval: -1})
			require.NoError(t, err)
			defer func() { require.NoError(t, b.Close()) }()
			_, err = b.DescribeTopic(ctx, "t")
			require.NoError(t, err, "a topic created a second before the kill is gone")
			_, hwm, err := b.Watermarks("t", 0)
			require.NoError(t, err)
			require.EqualValues(t, 20, hwm, "appends acknowledged a second before the kill are lost")
			tp := group.TopicPartition{Topic: "t", Partition: 0}
			got, err := b.FetchOffsets(ctx, "g", tp)
			require.NoError(t, err)
			require.Contains(t, got, tp, "a commit acknowledged a second before the kill is lost")
			require.EqualValues(t, 7, got[tp].Offset)
		})
	}
}

// Under NoSync the WAL is handed to the OS every SyncInterval by a pad
// record that fills Pebble's open block (see Broker.syncLoop): written
// again while appends go on (a Pebble batch applied twice panics), and
// not at all once the broker is idle, so an idle WAL does not grow.
func TestNoSyncWALPadOnlyAfterWrites(t *testing.T) {
	const pad = 32 << 10
	b, err := cairn.Open(t.TempDir(), &cairn.Options{Durability: cairn.NoSync,
		SyncInterval: 5 * time.Millisecond, CleanupInterval: -1})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	before := cairn.WALBytesIn(b)
	for deadline := time.Now().Add(10 * time.Second); cairn.WALBytesIn(b)-before < 4*pad; {
		require.True(t, time.Now().Before(deadline), "no pads while appending")
		_, err := b.Append(ctx, "t", 0, kv("k", "v"))
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the tick after the last append pads once more
	idle := cairn.WALBytesIn(b)
	time.Sleep(200 * time.Millisecond) // 40 ticks
	require.LessOrEqual(t, cairn.WALBytesIn(b)-idle, uint64(pad+64), "an idle broker's WAL grew")
}

// openKillChild, in a child process a kill test started with env set to
// "durability|dir", opens the broker there; elsewhere it skips t, naming
// the parent test.
func openKillChild(t *testing.T, env, parent string) (*cairn.Broker, cairn.Durability) {
	v := os.Getenv(env)
	if v == "" {
		t.Skip("only runs as the child of " + parent)
	}
	var dur cairn.Durability
	var dir string
	_, err := fmt.Sscanf(v, "%d|%s", &dur, &dir)
	must(err)
	b, err := cairn.Open(dir, &cairn.Options{Durability: dur, CleanupInterval: -1})
	must(err)
	return b, dur
}

// must ends a kill test's child process on err, printing it for the
// parent.
func must(err error) {
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
}
