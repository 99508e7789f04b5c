//go:build unix

package kafka_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/kafka"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A Kafka client produces with acks=-1 to a listener in a child process,
// which is then SIGKILLed a moment after the last acknowledgement: every
// acknowledged record must be stored at the offset it was given.
const produceKillChildEnv = "CAIRN_KAFKA_PRODUCE_KILL_CHILD" // "durability|dir"

func TestProduceKillChild(t *testing.T) {
	env := os.Getenv(produceKillChildEnv)
	if env == "" {
		t.Skip("only runs as the child of TestProduceAcksAllSurvivesKill")
	}
	var dur cairn.Durability
	var dir string
	if _, err := fmt.Sscanf(env, "%d|%s", &dur, &dir); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	b, err := cairn.Open(dir, &cairn.Options{Durability: dur, CleanupInterval: -1})
	if err == nil {
		err = b.CreateTopic(ctx, "t", 3, nil)
	}
	var ln net.Listener
	if err == nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println("addr", ln.Addr().String())
	_ = kafka.NewServer(b, nil).Serve(ln)
	os.Exit(3)
}

func TestProduceAcksAllSurvivesKill(t *testing.T) {
	for _, dur := range []cairn.Durability{cairn.SyncAlways, cairn.NoSync} {
		t.Run(dur.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestProduceKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d|%s", produceKillChildEnv, dur, dir))
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(t, err)
			addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr ")
			require.True(t, ok, line)

			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.AllISRAcks()),
				kgo.DefaultProduceTopic("t"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			require.NoError(t, err)
			type acked struct {
				p     int32
				off   int64
				value string
			}
			var acks []acked
			for i := range 60 {
				r := &kgo.Record{Partition: int32(i % 3), Value: fmt.Appendf(nil, "v%d", i)}
				require.NoError(t, cl.ProduceSync(ctx, r).FirstErr())
				acks = append(acks, acked{r.Partition, r.Offset, string(r.Value)})
			}
			cl.Close()
			time.Sleep(500 * time.Millisecond)
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()

			b, err := cairn.Open(dir, &cairn.Options{Durability: dur, CleanupInterval: -1})
			require.NoError(t, err)
			defer func() { require.NoError(t, b.Close()) }()
			for _, a := range acks {
				recs, err := b.Read(ctx, "t", a.p, a.off, 1)
				require.NoError(t, err, "acknowledged record %s at %d/%d", a.value, a.p, a.off)
				require.NotEmpty(t, recs, "acknowledged record %s at %d/%d lost", a.value, a.p, a.off)
				require.Equal(t, a.value, string(recs[0].Value), "at %d/%d", a.p, a.off)
			}
		})
	}
}
