package cairn_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("CAIRN_LOCK_CHILD"); dir != "" {
		lockChild(dir)
		return
	}
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

func openMem(t *testing.T, fs vfs.FS, opts *cairn.Options) *cairn.Broker {
	t.Helper()
	if opts == nil {
		opts = &cairn.Options{}
	}
	opts.FS = fs
	b, err := cairn.Open("data", opts)
	require.NoError(t, err)
	return b
}

func TestTopicAdminPersists(t *testing.T) {
	fs := vfs.NewMem()
	b := openMem(t, fs, nil)
	require.NoError(t, b.CreateTopic(ctx, "orders", 3, cairn.TopicConfig{"retention.ms": "1000"}))
	require.NoError(t, b.CreateTopic(ctx, "audit.log", 1, nil))
	require.NoError(t, b.AlterTopicConfig(ctx, "orders", cairn.TopicConfig{"max.message.bytes": "5000"}, "retention.ms"))
	require.NoError(t, b.CreatePartitions(ctx, "orders", 5))
	for p := int32(0); p < 5; p++ {
		_, err := b.Append(ctx, "orders", p, cairn.Record{Value: []byte(fmt.Sprint(p))})
		require.NoError(t, err)
	}
	_, err := b.Append(ctx, "orders", 4, cairn.Record{Value: []byte("x")}, cairn.Record{Value: []byte("y")})
	require.NoError(t, err)
	require.NoError(t, b.DeleteRecords(ctx, "orders", 4, 1))
	before, err := b.DescribeTopic(ctx, "orders")
	require.NoError(t, err)
	require.NoError(t, b.Close())

	b = openMem(t, fs, nil)
	defer b.Close()
	names, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"audit.log", "orders"}, names)
	after, err := b.DescribeTopic(ctx, "orders")
	require.NoError(t, err)
	require.Equal(t, before, after)
	require.Len(t, after.Partitions, 5)
	require.Equal(t, cairn.PartitionInfo{Partition: 4, LogStart: 1, HighWatermark: 3}, after.Partitions[4])
	cfg := map[string]cairn.ConfigEntry{}
	for _, e := range after.Config {
		cfg[e.Key] = e
	}
	require.Equal(t, cairn.ConfigEntry{Key: "max.message.bytes", Value: "5000"}, cfg["max.message.bytes"])
	require.Equal(t, cairn.ConfigEntry{Key: "retention.ms", Value: "604800000", IsDefault: true}, cfg["retention.ms"])
	recs, err := b.Read(ctx, "orders", 2, 0, 1<<20)
	require.NoError(t, err)
	require.Equal(t, "2", string(recs[0].Value))
}

func TestDeleteTopic(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 2, nil))
	part, err := b.Partition("t", 1)
	require.NoError(t, err)
	_, err = b.Append(ctx, "t", 1, cairn.Record{Value: []byte("old")})
	require.NoError(t, err)
	require.NoError(t, b.DeleteTopic(ctx, "t"))
	_, err = part.Read(0, 100)
	require.ErrorIs(t, err, cairn.ErrClosed, "handles to a deleted topic's partitions are closed")
	_, err = b.Append(ctx, "t", 1, cairn.Record{Value: []byte("x")})
	require.ErrorIs(t, err, cairn.ErrUnknownTopic)
	require.ErrorIs(t, b.DeleteTopic(ctx, "t"), cairn.ErrUnknownTopic)

	require.NoError(t, b.CreateTopic(ctx, "t", 2, nil))
	_, hwm, err := b.Watermarks("t", 1)
	require.NoError(t, err)
	require.Zero(t, hwm, "a recreated topic starts empty")
}

func TestBadInputChangesNothing(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 2, cairn.TopicConfig{"max.message.bytes": "300"}))
	require.NoError(t, b.CreateTopic(ctx, "a_b", 1, nil))

	for _, name := range []string{"", ".", "..", "has space", "slash/", strings.Repeat("x", 250), "ünï"} {
		require.ErrorIs(t, b.CreateTopic(ctx, name, 1, nil), cairn.ErrInvalidTopic, name)
	}
	require.NoError(t, b.CreateTopic(ctx, strings.Repeat("x", 249), 1, nil))
	require.ErrorIs(t, b.CreateTopic(ctx, "a.b", 1, nil), cairn.ErrInvalidTopic, "collides with a_b")
	require.ErrorIs(t, b.CreateTopic(ctx, "t", 1, nil), cairn.ErrTopicExists)
	require.ErrorIs(t, b.CreateTopic(ctx, "u", 0, nil), cairn.ErrInvalidPartitions)
	require.ErrorIs(t, b.CreateTopic(ctx, "u", -3, nil), cairn.ErrInvalidPartitions)
	require.ErrorIs(t, b.CreateTopic(ctx, "u", 1, cairn.TopicConfig{"retention.ms": "soon"}), cairn.ErrInvalidConfig)
	err := b.CreateTopic(ctx, "u", 1, cairn.TopicConfig{"no.such.key": "1"})
	var ce *cairn.ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "no.such.key", ce.Key)
	require.ErrorIs(t, b.CreatePartitions(ctx, "t", 1), cairn.ErrInvalidPartitions, "decrease")
	require.ErrorIs(t, b.CreatePartitions(ctx, "t", 2), cairn.ErrInvalidPartitions, "same count")
	require.ErrorIs(t, b.CreatePartitions(ctx, "nope", 3), cairn.ErrUnknownTopic)
	require.ErrorIs(t, b.AlterTopicConfig(ctx, "t", cairn.TopicConfig{"cleanup.policy": "shred"}), cairn.ErrInvalidConfig)
	require.ErrorIs(t, b.AlterTopicConfig(ctx, "t", nil, "bogus.key"), cairn.ErrInvalidConfig)
	require.ErrorIs(t, b.AlterTopicConfig(ctx, "nope", nil), cairn.ErrUnknownTopic)

	_, err = b.Append(ctx, "nope", 0, cairn.Record{})
	require.ErrorIs(t, err, cairn.ErrUnknownTopic)
	_, err = b.Append(ctx, "t", 2, cairn.Record{})
	require.ErrorIs(t, err, cairn.ErrUnknownPartition)
	var upe *cairn.UnknownPartitionError
	require.ErrorAs(t, err, &upe)
	require.Equal(t, cairn.UnknownPartitionError{Topic: "t", Partition: 2}, *upe)
	_, err = b.Append(ctx, "t", -1, cairn.Record{})
	require.ErrorIs(t, err, cairn.ErrUnknownPartition)
	_, err = b.Append(ctx, "t", 0)
	require.ErrorIs(t, err, cairn.ErrEmptyBatch)
	_, err = b.Append(ctx, "t", 0, cairn.Record{Value: []byte("ok")}, cairn.Record{Value: make([]byte, 400)})
	require.ErrorIs(t, err, cairn.ErrMessageTooLarge)
	_, err = b.Append(ctx, "t", 0, cairn.Record{Value: []byte("ok")}, cairn.Record{Headers: []cairn.Header{{Key: string(make([]byte, log.MaxHeaderKeyLen+1))}}})
	require.ErrorIs(t, err, cairn.ErrInvalidHeader)
	_, err = b.AppendBatch(ctx, "t", 0, []byte("not a batch"))
	require.ErrorIs(t, err, cairn.ErrCorruptBatch)
	_, err = b.Read(ctx, "t", 0, 1, 100)
	require.ErrorIs(t, err, cairn.ErrOffsetOutOfRange)
	require.ErrorIs(t, b.DeleteRecords(ctx, "t", 0, 5), cairn.ErrOffsetOutOfRange)

	info, err := b.DescribeTopic(ctx, "t")
	require.NoError(t, err)
	require.Len(t, info.Partitions, 2)
	require.Equal(t, int64(0), info.Partitions[0].HighWatermark, "no failed append stored anything")
	names, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a_b", "t", strings.Repeat("x", 249)}, names)

	// Raising max.message.bytes takes effect at once.
	require.NoError(t, b.AlterTopicConfig(ctx, "t", cairn.TopicConfig{"max.message.bytes": "10000"}))
	_, err = b.Append(ctx, "t", 0, cairn.Record{Value: make([]byte, 400)})
	require.NoError(t, err)
}

func TestUseAfterClose(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	part, err := b.Partition("t", 0)
	require.NoError(t, err)
	waited := make(chan error)
	go func() { waited <- b.Wait(ctx, "t", 0, 0) }()
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close is idempotent")
	require.ErrorIs(t, <-waited, cairn.ErrClosed)

	_, err = b.Append(ctx, "t", 0, cairn.Record{})
	require.ErrorIs(t, err, cairn.ErrClosed)
	_, err = part.Append(ctx, []cairn.Record{{}})
	require.ErrorIs(t, err, cairn.ErrClosed)
	_, err = b.Read(ctx, "t", 0, 0, 1)
	require.ErrorIs(t, err, cairn.ErrClosed)
	require.ErrorIs(t, b.CreateTopic(ctx, "u", 1, nil), cairn.ErrClosed)
	require.ErrorIs(t, b.DeleteTopic(ctx, "t"), cairn.ErrClosed)
	_, err = b.Topics(ctx)
	require.ErrorIs(t, err, cairn.ErrClosed)
	_, _, err = b.Watermarks("t", 0)
	require.ErrorIs(t, err, cairn.ErrClosed)
}

func TestInvalidOptions(t *testing.T) {
	_, err := cairn.Open("x", &cairn.Options{FS: vfs.NewMem(), Durability: 9})
	require.ErrorIs(t, err, cairn.ErrInvalidOptions)
	_, err = cairn.Open("x", &cairn.Options{FS: vfs.NewMem(), SyncInterval: -time.Second})
	require.ErrorIs(t, err, cairn.ErrInvalidOptions)
}

func TestDurabilityLevelsSurviveClose(t *testing.T) {
	for _, d := range []cairn.Durability{cairn.SyncAlways, cairn.SyncInterval, cairn.NoSync} {
		t.Run(d.String(), func(t *testing.T) {
			dir := t.TempDir()
			b, err := cairn.Open(dir, &cairn.Options{Durability: d, SyncInterval: time.Millisecond})
			require.NoError(t, err)
			require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
			for i := 0; i < 50; i++ {
				_, err := b.Append(ctx, "t", 0, cairn.Record{Value: []byte(fmt.Sprint(i))})
				require.NoError(t, err)
			}
			require.NoError(t, b.Close())
			b, err = cairn.Open(dir, nil)
			require.NoError(t, err)
			defer b.Close()
			recs, err := b.Read(ctx, "t", 0, 0, 1<<20)
			require.NoError(t, err)
			require.Len(t, recs, 50)
			require.Equal(t, "49", string(recs[49].Value))
		})
	}
}

func TestLogAppendTimeTopic(t *testing.T) {
	now := time.UnixMilli(1_900_000_000_000)
	b := openMem(t, vfs.NewMem(), &cairn.Options{Now: func() time.Time { return now }})
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "lat", 1, cairn.TopicConfig{"message.timestamp.type": "LogAppendTime"}))
	require.NoError(t, b.CreateTopic(ctx, "ct", 1, nil))
	created := time.UnixMilli(1_000)
	for _, name := range []string{"lat", "ct"} {
		_, err := b.Append(ctx, name, 0, cairn.Record{Value: []byte("v"), Timestamp: created})
		require.NoError(t, err)
	}
	recs, err := b.Read(ctx, "lat", 0, 0, 1<<20)
	require.NoError(t, err)
	require.True(t, recs[0].Timestamp.Equal(now))
	recs, err = b.Read(ctx, "ct", 0, 0, 1<<20)
	require.NoError(t, err)
	require.True(t, recs[0].Timestamp.Equal(created))
}

func TestCompressionTypeTopic(t *testing.T) {
	b := openMem(t, vfs.NewMem(), nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "z", 1, cairn.TopicConfig{"compression.type": "zstd"}))
	_, err := b.Append(ctx, "z", 0, cairn.Record{Value: make([]byte, 10000)})
	require.NoError(t, err)
	f, err := b.Fetch(ctx, "z", 0, 0, 1<<20)
	require.NoError(t, err)
	require.Equal(t, "zstd", f.Batches[0].Codec().String())
	require.Less(t, f.Batches[0].Len(), 1000)
}

// A second Open of a directory fails with ErrLocked, in this process and
// in another one.
func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	b, err := cairn.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = cairn.Open(dir, nil)
	require.ErrorIs(t, err, cairn.ErrLocked)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CAIRN_LOCK_CHILD="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "locked: true")
}

// lockChild runs in a child process: it tries to open dir and reports
// whether the error was ErrLocked.
func lockChild(dir string) {
	b, err := cairn.Open(dir, nil)
	if err == nil {
		b.Close()
	}
	fmt.Printf("locked: %v (%v)\n", err != nil && errorsIs(err, cairn.ErrLocked), err)
}

// AppendLogBatchAsync returns a wait only when there is one to do: without
// sync the batch is visible on return, and a retried (duplicate) batch
// holds nothing open either, so the broker closes without its wait.
func TestAppendLogBatchAsyncWaits(t *testing.T) {
	for _, d := range []cairn.Durability{cairn.SyncAlways, cairn.SyncInterval, cairn.NoSync} {
		b := openMem(t, vfs.NewMem(), &cairn.Options{Durability: d})
		require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
		id, epoch, err := b.InitProducerID(ctx)
		require.NoError(t, err)
		batch, err := log.Build([]log.Record{{Value: []byte("once")}}, log.None,
			&log.Producer{ID: id, Epoch: epoch, Sequence: 0}, time.Now())
		require.NoError(t, err)
		for attempt := range 2 { // the second is a retry of the first
			base, wait, err := b.AppendLogBatchAsync(ctx, "t", 0, batch)
			require.NoError(t, err, "%v attempt %d", d, attempt)
			require.Equal(t, int64(0), base)
			if d == cairn.SyncAlways {
				require.NotNil(t, wait, "%v attempt %d", d, attempt)
				require.NoError(t, wait())
				continue
			}
			require.Nil(t, wait, "%v attempt %d", d, attempt)
			got, err := b.Read(ctx, "t", 0, 0, 1<<20)
			require.NoError(t, err)
			require.Len(t, got, 1, "%v attempt %d: visible on return, stored once", d, attempt)
		}
		require.NoError(t, b.Close(), "%v: nothing held open", d)
	}
}
