package cairn_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/producer"
	"github.com/cairnlog/cairn/topic"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// clock is a settable broker clock for retention and cleaning tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openClean opens a broker on fs with the background cleanup off, so
// tests drive it with Broker.Cleanup.
func openClean(t *testing.T, fs vfs.FS, c *clock, mod func(*cairn.Options)) *cairn.Broker {
	t.Helper()
	o := &cairn.Options{FS: fs, CleanupInterval: -1, Durability: cairn.NoSync}
	if c != nil {
		o.Now = c.Now
	}
	if mod != nil {
		mod(o)
	}
	b, err := cairn.Open("data", o)
	require.NoError(t, err)
	return b
}

// compacted is a config for a compacted topic cleaned at every Cleanup.
func compacted(extra ...string) cairn.TopicConfig {
	cfg := cairn.TopicConfig{"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0"}
	for i := 0; i+1 < len(extra); i += 2 {
		cfg[extra[i]] = extra[i+1]
	}
	return cfg
}

func kv(k, v string) cairn.Record {
	r := cairn.Record{Key: []byte(k)}
	if v != "" {
		r.Value = []byte(v)
	}
	return r
}

// readAll reads a whole partition as a consumer would, across gaps.
func readAll(t *testing.T, b *cairn.Broker, name string, p int32) []cairn.Record {
	t.Helper()
	start, hwm, err := b.Watermarks(name, p)
	require.NoError(t, err)
	var out []cairn.Record
	for off := start; off < hwm; {
		recs, err := b.Read(ctx, name, p, off, 1<<10)
		require.NoError(t, err)
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			require.Greater(t, r.Offset, off-1, "offsets rise")
			out = append(out, r)
			off = r.Offset + 1
		}
	}
	return out
}

// table folds records into key -> latest value, dropping tombstones.
func table(recs []cairn.Record) map[string]string {
	m := map[string]string{}
	for _, r := range recs {
		if r.Value == nil {
			delete(m, string(r.Key))
		} else {
			m[string(r.Key)] = string(r.Value)
		}
	}
	return m
}

func TestCompactedTopicRequiresKeys(t *testing.T) {
	b := openClean(t, vfs.NewMem(), nil, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted()))
	_, err := b.Append(ctx, "tbl", 0, kv("a", "1"), cairn.Record{Value: []byte("no key")})
	require.ErrorIs(t, err, cairn.ErrKeyRequired)
	raw, err := log.Encode(nil, []log.Record{{Key: []byte("a"), Value: []byte("1")}, {Value: []byte("x")}}, log.None, nil, time.Now())
	require.NoError(t, err)
	_, err = b.AppendBatch(ctx, "tbl", 0, raw)
	require.ErrorIs(t, err, cairn.ErrKeyRequired)
	_, hwm, err := b.Watermarks("tbl", 0)
	require.NoError(t, err)
	require.Zero(t, hwm, "a refused batch appends nothing")
	// An empty key is a key, as in Kafka.
	_, err = b.Append(ctx, "tbl", 0, cairn.Record{Key: []byte{}, Value: []byte("v")})
	require.NoError(t, err)
	// A delete-only topic takes keyless records.
	require.NoError(t, b.CreateTopic(ctx, "events", 1, nil))
	_, err = b.Append(ctx, "events", 0, cairn.Record{Value: []byte("v")})
	require.NoError(t, err)
}

func TestCompactionKeepsLatestPerKeyAndOffsets(t *testing.T) {
	fs := vfs.NewMem()
	b := openClean(t, fs, nil, nil)
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted()))
	for i := range 20 {
		var batch []cairn.Record
		for k := range 5 {
			batch = append(batch, kv(fmt.Sprintf("k%d", (i+k)%7), fmt.Sprintf("v%d-%d", i, k)))
		}
		_, err := b.Append(ctx, "tbl", 0, batch...)
		require.NoError(t, err)
	}
	before := readAll(t, b, "tbl", 0)
	require.Len(t, before, 100)
	require.NoError(t, b.Cleanup(ctx))
	after := readAll(t, b, "tbl", 0)
	require.Less(t, len(after), 50)
	require.Equal(t, table(before), table(after))
	// Every surviving record is the original at its original offset.
	for _, r := range after {
		require.Equal(t, before[r.Offset].Key, r.Key)
		require.Equal(t, before[r.Offset].Value, r.Value)
	}
	// The newest batch (the active tail) is untouched.
	for off := int64(95); off < 100; off++ {
		require.Contains(t, offsets(after), off)
	}
	st, err := b.PartitionStats("tbl", 0)
	require.NoError(t, err)
	require.Equal(t, int64(100-len(after)), st.RecordsCleaned)
	require.EqualValues(t, 95, st.CleanedTo)
	require.EqualValues(t, 1, st.CleanerPasses)
	require.False(t, st.LastCleaned.IsZero())
	for k, v := range table(after) {
		r, err := b.Get(ctx, "tbl", []byte(k))
		require.NoError(t, err)
		require.Equal(t, v, string(r.Value))
	}
	// Cleaning again changes nothing; reopening keeps it all.
	require.NoError(t, b.Cleanup(ctx))
	require.Equal(t, after, readAll(t, b, "tbl", 0))
	require.NoError(t, b.Close())
	b = openClean(t, fs, nil, nil)
	defer b.Close()
	require.Equal(t, after, readAll(t, b, "tbl", 0))
	st2, err := b.PartitionStats("tbl", 0)
	require.NoError(t, err)
	require.Equal(t, st.Bytes, st2.Bytes, "size is rebuilt on open")
	require.Equal(t, st.RecordsCleaned, st2.RecordsCleaned)
	// Appends go on at the old offsets.
	off, err := b.Append(ctx, "tbl", 0, kv("k1", "new"))
	require.NoError(t, err)
	require.EqualValues(t, 100, off)
}

func offsets(recs []cairn.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Offset
	}
	return out
}

func TestTombstonesKeptForDeleteRetention(t *testing.T) {
	c := newClock()
	b := openClean(t, vfs.NewMem(), c, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted("delete.retention.ms", "60000")))
	_, err := b.Append(ctx, "tbl", 0, kv("a", "1"), kv("b", "1"))
	require.NoError(t, err)
	_, err = b.Append(ctx, "tbl", 0, kv("a", "")) // tombstone at 2
	require.NoError(t, err)
	_, err = b.Get(ctx, "tbl", []byte("a"))
	require.ErrorIs(t, err, cairn.ErrKeyNotFound)
	_, err = b.Append(ctx, "tbl", 0, kv("c", "1")) // the active tail
	require.NoError(t, err)

	require.NoError(t, b.Cleanup(ctx))
	recs := readAll(t, b, "tbl", 0)
	require.Equal(t, []int64{1, 2, 3}, offsets(recs), "a=1 is gone, its tombstone stays")
	require.Nil(t, recs[1].Value)

	c.Add(59 * time.Second)
	_, err = b.Append(ctx, "tbl", 0, kv("d", "1"))
	require.NoError(t, err)
	require.NoError(t, b.Cleanup(ctx))
	require.Equal(t, []int64{1, 2, 3, 4}, offsets(readAll(t, b, "tbl", 0)), "not expired yet")

	c.Add(2 * time.Second)
	_, err = b.Append(ctx, "tbl", 0, kv("e", "1"))
	require.NoError(t, err)
	require.NoError(t, b.Cleanup(ctx))
	require.Equal(t, []int64{1, 3, 4, 5}, offsets(readAll(t, b, "tbl", 0)), "the tombstone expired")
	_, err = b.Get(ctx, "tbl", []byte("a"))
	require.ErrorIs(t, err, cairn.ErrKeyNotFound)
	r, err := b.Get(ctx, "tbl", []byte("b"))
	require.NoError(t, err)
	require.Equal(t, "1", string(r.Value))
	require.EqualValues(t, 1, r.Offset)

	// A key written again after its tombstone expired is found again.
	_, err = b.Append(ctx, "tbl", 0, kv("a", "2"))
	require.NoError(t, err)
	r, err = b.Get(ctx, "tbl", []byte("a"))
	require.NoError(t, err)
	require.Equal(t, "2", string(r.Value))
}

func TestMinCompactionLagProtectsRecentRecords(t *testing.T) {
	c := newClock()
	b := openClean(t, vfs.NewMem(), c, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted("min.compaction.lag.ms", "3600000")))
	for i := range 4 {
		_, err := b.Append(ctx, "tbl", 0, kv("k", fmt.Sprint(i)))
		require.NoError(t, err)
	}
	require.NoError(t, b.Cleanup(ctx))
	require.Len(t, readAll(t, b, "tbl", 0), 4, "younger than min.compaction.lag.ms")
	c.Add(time.Hour)
	require.NoError(t, b.Cleanup(ctx))
	// The active tail (offset 3) is neither cleaned nor mapped, so the
	// latest record before it stays too, as in Kafka.
	require.Equal(t, []int64{2, 3}, offsets(readAll(t, b, "tbl", 0)))
}

func TestDirtyRatioAndMaxCompactionLag(t *testing.T) {
	c := newClock()
	b := openClean(t, vfs.NewMem(), c, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, cairn.TopicConfig{"cleanup.policy": "compact",
		"min.cleanable.dirty.ratio": "0.9", "max.compaction.lag.ms": "600000"}))
	for i := range 10 {
		_, err := b.Append(ctx, "tbl", 0, kv(fmt.Sprint("k", i), "v"))
		require.NoError(t, err)
	}
	require.NoError(t, b.Cleanup(ctx)) // all dirty: ratio 1
	st, _ := b.PartitionStats("tbl", 0)
	require.EqualValues(t, 1, st.CleanerPasses)
	for range 2 {
		_, err := b.Append(ctx, "tbl", 0, kv("k0", "w"))
		require.NoError(t, err)
	}
	require.NoError(t, b.Cleanup(ctx))
	st, _ = b.PartitionStats("tbl", 0)
	require.EqualValues(t, 1, st.CleanerPasses, "dirty ratio 1/10 is below 0.9")
	c.Add(11 * time.Minute)
	require.NoError(t, b.Cleanup(ctx))
	st, _ = b.PartitionStats("tbl", 0)
	require.EqualValues(t, 2, st.CleanerPasses, "max.compaction.lag.ms forces a pass")
	require.EqualValues(t, 1, st.RecordsCleaned)
}

func TestSmallKeyMapCleansInPasses(t *testing.T) {
	b := openClean(t, vfs.NewMem(), nil, func(o *cairn.Options) { o.Cleaner.KeyMapSize = 8 })
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted()))
	for round := range 3 {
		for k := 0; k < 40; k += 4 {
			var batch []cairn.Record
			for j := k; j < k+4; j++ {
				batch = append(batch, kv(fmt.Sprint("k", j), fmt.Sprint(round)))
			}
			_, err := b.Append(ctx, "tbl", 0, batch...)
			require.NoError(t, err)
		}
	}
	_, err := b.Append(ctx, "tbl", 0, kv("tail", "x"))
	require.NoError(t, err)
	want := table(readAll(t, b, "tbl", 0))
	require.NoError(t, b.Cleanup(ctx))
	st, _ := b.PartitionStats("tbl", 0)
	require.GreaterOrEqual(t, st.CleanerPasses, int64(15), "8 keys a pass, 120 records")
	got := readAll(t, b, "tbl", 0)
	require.Equal(t, want, table(got))
	require.Len(t, got, 41, "one record per key")
}

func TestRetentionByTimeAndBytes(t *testing.T) {
	c := newClock()
	fs := vfs.NewMem()
	b := openClean(t, fs, c, nil)
	require.NoError(t, b.CreateTopic(ctx, "ev", 1, cairn.TopicConfig{"retention.ms": "60000"}))
	for i := range 10 {
		_, err := b.Append(ctx, "ev", 0, cairn.Record{Value: []byte(fmt.Sprint(i)), Timestamp: c.Now()},
			cairn.Record{Value: []byte("x"), Timestamp: c.Now()})
		require.NoError(t, err)
		c.Add(10 * time.Second)
	}
	// now = t0+100s: batches with max timestamp before t0+40s expire.
	require.NoError(t, b.Cleanup(ctx))
	start, hwm, err := b.Watermarks("ev", 0)
	require.NoError(t, err)
	require.EqualValues(t, 8, start, "whole batches of 2 records")
	require.EqualValues(t, 20, hwm)
	_, err = b.Read(ctx, "ev", 0, 7, 1<<20)
	require.ErrorIs(t, err, cairn.ErrOffsetOutOfRange)
	off, ok, err := b.OffsetForTime(ctx, "ev", 0, time.UnixMilli(0))
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 8, off)

	// Bytes: keep the newest batches holding at least 3 batches' worth.
	st, err := b.PartitionStats("ev", 0)
	require.NoError(t, err)
	per := st.Bytes / 6
	require.NoError(t, b.AlterTopicConfig(ctx, "ev", cairn.TopicConfig{"retention.bytes": fmt.Sprint(3 * per)}))
	require.NoError(t, b.Cleanup(ctx))
	st, err = b.PartitionStats("ev", 0)
	require.NoError(t, err)
	require.EqualValues(t, 14, st.LogStart)
	require.Equal(t, 3*per, st.Bytes)
	require.NoError(t, b.Close())

	b = openClean(t, fs, c, nil)
	defer b.Close()
	st2, err := b.PartitionStats("ev", 0)
	require.NoError(t, err)
	require.Equal(t, st.LogStart, st2.LogStart, "log start persists")
	require.Equal(t, st.Bytes, st2.Bytes)
	require.EqualValues(t, 20, st2.HighWatermark)

	// Everything expired: the log empties but offsets go on.
	c.Add(time.Hour)
	require.NoError(t, b.Cleanup(ctx))
	start, hwm, err = b.Watermarks("ev", 0)
	require.NoError(t, err)
	require.EqualValues(t, 20, start)
	require.EqualValues(t, 20, hwm)
	off, err = b.Append(ctx, "ev", 0, cairn.Record{Value: []byte("later")})
	require.NoError(t, err)
	require.EqualValues(t, 20, off)
}

func TestGetUsesTheProducersPartition(t *testing.T) {
	b := openClean(t, vfs.NewMem(), nil, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 5, compacted()))
	for i := range 50 {
		key := []byte(fmt.Sprint("user-", i))
		require.Equal(t, producer.KeyPartition(key, 5), topic.KeyPartition(key, 5))
		_, err := b.Append(ctx, "tbl", producer.KeyPartition(key, 5), cairn.Record{Key: key, Value: []byte(fmt.Sprint(i))})
		require.NoError(t, err)
	}
	for i := range 50 {
		r, err := b.Get(ctx, "tbl", []byte(fmt.Sprint("user-", i)))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), string(r.Value))
	}
	_, err := b.Get(ctx, "tbl", []byte("nobody"))
	require.ErrorIs(t, err, cairn.ErrKeyNotFound)
	_, err = b.Get(ctx, "nope", []byte("x"))
	require.ErrorIs(t, err, cairn.ErrUnknownTopic)
	require.NoError(t, b.CreateTopic(ctx, "plain", 1, nil))
	_, err = b.Get(ctx, "plain", []byte("x"))
	require.ErrorIs(t, err, cairn.ErrInvalidArgument)
}

func TestBackgroundCleanupStopsOnClose(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem(), CleanupInterval: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, b.CreateTopic(ctx, "tbl", 2, compacted()))
	for i := range 200 {
		_, err := b.Append(ctx, "tbl", int32(i%2), kv(fmt.Sprint(i%10), fmt.Sprint(i)))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		st, err := b.PartitionStats("tbl", 0)
		return err == nil && st.RecordsCleaned > 0
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, b.Close()) // goleak in TestMain checks the loop ended
	require.ErrorIs(t, b.Cleanup(ctx), cairn.ErrClosed)
	_, err = b.Get(ctx, "tbl", []byte("1"))
	require.True(t, errors.Is(err, cairn.ErrClosed))
}

// Get(nil) on a compacted topic answered the empty key's record: a nil
// key is not the empty key, and no record of a compacted topic has one
// (its append fails with ErrKeyRequired), so the lookup fails the same.
func TestGetNilKeyIsKeyRequired(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem(), CleanupInterval: -1})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted()))
	_, err = b.Append(ctx, "tbl", 0, cairn.Record{Key: []byte{}, Value: []byte("empty key")})
	require.NoError(t, err)
	_, err = b.Append(ctx, "tbl", 0, cairn.Record{Value: []byte("no key")})
	require.ErrorIs(t, err, cairn.ErrKeyRequired)
	_, err = b.Get(ctx, "tbl", nil)
	require.ErrorIs(t, err, cairn.ErrKeyRequired)
	r, err := b.Get(ctx, "tbl", []byte{})
	require.NoError(t, err)
	require.Equal(t, "empty key", string(r.Value))
}
