package partition

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func openDB(t *testing.T, fs vfs.FS) *pebble.DB {
	t.Helper()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: quiet{}})
	require.NoError(t, err)
	return db
}

func open(t *testing.T, db *pebble.DB, sync bool) *Partition {
	t.Helper()
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Partition: 0, Sync: sync,
		Config: Config{MaxMessageBytes: 1 << 20}})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func newPartition(t *testing.T, sync bool) *Partition {
	db := openDB(t, vfs.NewMem())
	p := open(t, db, sync)
	t.Cleanup(func() { p.Close(); db.Close() })
	return p
}

func recs(n int, tag string) []log.Record {
	out := make([]log.Record, n)
	for i := range out {
		out[i] = log.Record{Key: []byte(fmt.Sprintf("%s-k%d", tag, i)), Value: []byte(fmt.Sprintf("%s-v%d", tag, i))}
	}
	return out
}

func TestAppendRead(t *testing.T) {
	for _, synced := range []bool{false, true} {
		t.Run(fmt.Sprint("sync=", synced), func(t *testing.T) {
			p := newPartition(t, synced)
			for i := 0; i < 5; i++ {
				base, err := p.Append(ctx, recs(10, fmt.Sprint(i)))
				require.NoError(t, err)
				require.Equal(t, int64(i*10), base)
			}
			require.Equal(t, int64(50), p.HighWatermark())
			got, err := p.ReadRecords(15, 1<<20)
			require.NoError(t, err)
			require.Len(t, got, 35)
			for i, r := range got {
				require.Equal(t, int64(15+i), r.Offset)
				require.Equal(t, fmt.Sprintf("%d-v%d", (15+i)/10, (15+i)%10), string(r.Value))
			}
		})
	}
}

func TestReadBounds(t *testing.T) {
	p := newPartition(t, false)
	for i := 0; i < 3; i++ {
		_, err := p.Append(ctx, recs(100, "x"))
		require.NoError(t, err)
	}
	f, err := p.Read(0, 1) // maxBytes below one batch still returns one
	require.NoError(t, err)
	require.Len(t, f.Batches, 1)
	f, err = p.Read(150, 1<<20)
	require.NoError(t, err)
	require.Len(t, f.Batches, 2)
	require.Equal(t, int64(100), f.Batches[0].BaseOffset())

	_, err = p.Read(0, -1)
	require.ErrorIs(t, err, ErrInvalidArgument)
	f, err = p.Read(300, 1<<20) // at the high watermark: nothing yet
	require.NoError(t, err)
	require.Empty(t, f.Batches)

	for _, off := range []int64{-1, 301} {
		_, err = p.Read(off, 1<<20)
		require.ErrorIs(t, err, ErrOffsetOutOfRange)
		var oe *OffsetError
		require.ErrorAs(t, err, &oe)
		require.Equal(t, OffsetError{Topic: "t", Partition: 0, Offset: off, LogStart: 0, HighWatermark: 300}, *oe)
	}
}

func TestTooLargeChangesNothing(t *testing.T) {
	p := newPartition(t, false)
	p.SetConfig(Config{MaxMessageBytes: 200})
	_, err := p.Append(ctx, []log.Record{{Value: make([]byte, 300)}})
	require.ErrorIs(t, err, ErrMessageTooLarge)
	var pe *Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "t", pe.Topic)
	require.Equal(t, int64(0), p.HighWatermark())
	base, err := p.Append(ctx, []log.Record{{Value: []byte("small")}})
	require.NoError(t, err)
	require.Equal(t, int64(0), base)
}

func TestAppendBatchValidates(t *testing.T) {
	p := newPartition(t, false)
	raw, err := log.Encode(nil, recs(3, "a"), log.Zstd, nil, time.Now())
	require.NoError(t, err)
	orig := append([]byte(nil), raw...)
	base, err := p.AppendBatch(ctx, raw)
	require.NoError(t, err)
	require.Equal(t, int64(0), base)
	require.Equal(t, orig, raw, "AppendBatch must not modify its input")
	base, err = p.AppendBatch(ctx, raw) // the same bytes again get new offsets
	require.NoError(t, err)
	require.Equal(t, int64(3), base)

	raw[len(raw)-1] ^= 1
	_, err = p.AppendBatch(ctx, raw)
	require.ErrorIs(t, err, log.ErrCorruptBatch)
	_, err = p.AppendBatch(ctx, []byte("short"))
	require.ErrorIs(t, err, log.ErrCorruptBatch)
	require.Equal(t, int64(6), p.HighWatermark())
}

// AppendLogBatch stores a built batch as is and validates a parsed one:
// corruption under a correct CRC is refused and changes nothing.
func TestAppendLogBatch(t *testing.T) {
	p := newPartition(t, false)
	var bl log.Builder
	for _, r := range recs(4, "b") {
		require.NoError(t, bl.Add(&r, time.Now()))
	}
	built, err := bl.Finish(log.None, nil)
	require.NoError(t, err)
	orig := append([]byte(nil), built.Bytes()...)
	base, err := p.AppendLogBatch(ctx, built)
	require.NoError(t, err)
	require.Equal(t, int64(0), base)
	require.Equal(t, orig, built.Bytes(), "AppendLogBatch must not modify its input")

	bad := append([]byte(nil), orig...)
	bad[log.HeaderSize] = 0x7f // the first record's length now claims 63 bytes
	binary.BigEndian.PutUint32(bad[17:], crc32.Checksum(bad[21:], crc32.MakeTable(crc32.Castagnoli)))
	parsed, err := log.Parse(bad)
	require.NoError(t, err, "the CRC matches")
	_, err = p.AppendLogBatch(ctx, parsed)
	require.ErrorIs(t, err, log.ErrCorruptBatch)
	_, err = p.AppendLogBatch(ctx, log.Batch{})
	require.ErrorIs(t, err, log.ErrEmptyBatch)
	require.Equal(t, int64(4), p.HighWatermark())
	got, err := p.ReadRecords(0, 1<<20)
	require.NoError(t, err)
	require.Len(t, got, 4)
	require.Equal(t, "b-v3", string(got[3].Value))
}

func TestLogAppendTime(t *testing.T) {
	db := openDB(t, vfs.NewMem())
	at := time.UnixMilli(1_900_000_000_000)
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Now: func() time.Time { return at },
		Config: Config{MaxMessageBytes: 1 << 20, LogAppendTime: true}})
	require.NoError(t, err)
	defer db.Close()
	defer p.Close()
	_, err = p.Append(ctx, []log.Record{{Value: []byte("v"), Timestamp: time.UnixMilli(5)}})
	require.NoError(t, err)
	got, err := p.ReadRecords(0, 1<<20)
	require.NoError(t, err)
	require.True(t, got[0].Timestamp.Equal(at))
}

func TestWait(t *testing.T) {
	p := newPartition(t, true)
	done := make(chan error)
	go func() { done <- p.Wait(ctx, 0) }()
	select {
	case <-done:
		t.Fatal("Wait returned before any append")
	case <-time.After(20 * time.Millisecond):
	}
	_, err := p.Append(ctx, recs(1, "w"))
	require.NoError(t, err)
	require.NoError(t, <-done)

	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- p.Wait(cctx, 1) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	go func() { done <- p.Wait(ctx, 1) }()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, p.Close())
	require.ErrorIs(t, <-done, ErrClosed)
	_, err = p.Append(ctx, recs(1, "w"))
	require.ErrorIs(t, err, ErrClosed)
	_, err = p.Read(0, 100)
	require.ErrorIs(t, err, ErrClosed)
}

// Many goroutines appending to one partition get dense offsets, each
// record exactly once, with and without sync.
func TestConcurrentAppendsDense(t *testing.T) {
	for _, synced := range []bool{false, true} {
		t.Run(fmt.Sprint("sync=", synced), func(t *testing.T) {
			p := newPartition(t, synced)
			const writers, perWriter, batch = 8, 25, 4
			var wg sync.WaitGroup
			bases := make(chan int64, writers*perWriter)
			for w := 0; w < writers; w++ {
				wg.Go(func() {
					for i := 0; i < perWriter; i++ {
						base, err := p.Append(ctx, recs(batch, fmt.Sprintf("w%d-%d", w, i)))
						if err != nil {
							t.Error(err)
							return
						}
						bases <- base
					}
				})
			}
			wg.Wait()
			close(bases)
			seenBase := map[int64]bool{}
			for b := range bases {
				require.Zero(t, b%batch)
				require.False(t, seenBase[b])
				seenBase[b] = true
			}
			const total = writers * perWriter * batch
			require.Equal(t, int64(total), p.HighWatermark())
			got, err := p.ReadRecords(0, 1<<30)
			require.NoError(t, err)
			require.Len(t, got, total)
			seen := map[string]bool{}
			for i, r := range got {
				require.Equal(t, int64(i), r.Offset)
				require.False(t, seen[string(r.Value)], "duplicate %s", r.Value)
				seen[string(r.Value)] = true
			}
		})
	}
}

func TestReopenRestoresState(t *testing.T) {
	fs := vfs.NewMem()
	db := openDB(t, fs)
	p := open(t, db, true)
	for i := 0; i < 4; i++ {
		_, err := p.Append(ctx, recs(10, "r"))
		require.NoError(t, err)
	}
	require.NoError(t, p.DeleteRecords(ctx, 15))
	require.Equal(t, int64(15), p.LogStart())
	_, err := p.Read(14, 100)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	got, err := p.ReadRecords(15, 1<<20)
	require.NoError(t, err)
	require.Equal(t, int64(15), got[0].Offset)
	require.NoError(t, p.Close())
	require.NoError(t, db.Close())

	db = openDB(t, fs)
	defer db.Close()
	p = open(t, db, true)
	require.Equal(t, int64(15), p.LogStart())
	require.Equal(t, int64(40), p.HighWatermark())

	// Deleting everything keeps the high watermark across a reopen.
	require.NoError(t, p.DeleteRecords(ctx, 40))
	require.ErrorIs(t, p.DeleteRecords(ctx, 41), ErrOffsetOutOfRange)
	require.NoError(t, p.Close())
	p = open(t, db, true)
	require.Equal(t, int64(40), p.LogStart())
	require.Equal(t, int64(40), p.HighWatermark())
	base, err := p.Append(ctx, recs(1, "z"))
	require.NoError(t, err)
	require.Equal(t, int64(40), base)
}

func TestCorruptStoredBatch(t *testing.T) {
	db := openDB(t, vfs.NewMem())
	defer db.Close()
	p := open(t, db, false)
	_, err := p.Append(ctx, recs(5, "c"))
	require.NoError(t, err)
	key := log.DataKey(nil, 1, 0, 4)
	v, closer, err := db.Get(key)
	require.NoError(t, err)
	bad := append([]byte(nil), v...)
	closer.Close()
	bad[len(bad)-2] ^= 0x40
	require.NoError(t, db.Set(key, bad, pebble.Sync))

	_, err = p.Read(0, 1<<20)
	require.ErrorIs(t, err, ErrCorruptStorage)
	require.ErrorIs(t, err, log.ErrCorruptBatch)
	var pe *Error
	require.ErrorAs(t, err, &pe)
	require.Equal(t, int64(4), pe.Offset)
	require.True(t, errors.Is(err, ErrCorruptStorage))
}

type quiet struct{}

func (quiet) Infof(string, ...any)      {}
func (quiet) Errorf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (quiet) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
