package cairn_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestTimeRetentionAfterFutureBatchDeleted: a batch stamped in the future
// blocks time retention while it is stored (as in Kafka), but once
// DeleteRecords (or retention.bytes) removed it, the batches after it,
// all past retention.ms, must go at the next cleanup.
func TestTimeRetentionAfterFutureBatchDeleted(t *testing.T) {
	c := newClock()
	b := openClean(t, vfs.NewMem(), c, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "ev", 1, cairn.TopicConfig{"retention.ms": "60000"}))
	_, err := b.Append(ctx, "ev", 0, cairn.Record{Value: []byte("future"), Timestamp: c.Now().Add(365 * 24 * time.Hour)})
	require.NoError(t, err)
	for i := range 5 {
		_, err := b.Append(ctx, "ev", 0, cairn.Record{Value: []byte(fmt.Sprint(i)), Timestamp: c.Now()})
		require.NoError(t, err)
	}
	require.NoError(t, b.DeleteRecords(ctx, "ev", 0, 1)) // the future batch goes
	c.Add(10 * time.Minute)                              // every batch left is past retention.ms
	require.NoError(t, b.Cleanup(ctx))
	start, hwm, err := b.Watermarks("ev", 0)
	require.NoError(t, err)
	require.EqualValues(t, 6, hwm)
	require.EqualValues(t, 6, start, "batches past retention.ms were kept")
}

// TestRetentionDropsKeyIndexEntries: in a compact,delete topic, the key
// index entries of records that retention removed must go too, or a
// topic of ever-new keys (sessions, request ids) grows its index, and
// the disk it uses, for good whatever retention.ms says.
func TestRetentionDropsKeyIndexEntries(t *testing.T) {
	c := newClock()
	fs := vfs.NewMem()
	b := openClean(t, fs, c, nil)
	require.NoError(t, b.CreateTopic(ctx, "sess", 1, compacted("cleanup.policy", "compact,delete", "retention.ms", "60000")))
	for i := range 100 {
		_, err := b.Append(ctx, "sess", 0, kv(fmt.Sprint("session-", 2*i), "x"), kv(fmt.Sprint("session-", 2*i+1), "y"))
		require.NoError(t, err)
		c.Add(time.Second)
	}
	c.Add(time.Hour) // every record is past retention.ms
	require.NoError(t, b.Cleanup(ctx))
	start, hwm, err := b.Watermarks("sess", 0)
	require.NoError(t, err)
	require.EqualValues(t, 200, start)
	require.EqualValues(t, 200, hwm)
	_, err = b.Get(ctx, "sess", []byte("session-7"))
	require.ErrorIs(t, err, cairn.ErrKeyNotFound)
	require.NoError(t, b.Close())
	require.Zero(t, countPrefix(t, fs, 'k'), "key index entries of deleted records are left behind")
}

type silentLog struct{}

func (silentLog) Infof(string, ...any)      {}
func (silentLog) Errorf(string, ...any)     {}
func (silentLog) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

// TestTimeRetentionAfterFutureBatchCleaned: the same, when the cleaner
// (not DeleteRecords) removed the batch stamped in the future, its only
// record being superseded, in a compact,delete topic.
func TestTimeRetentionAfterFutureBatchCleaned(t *testing.T) {
	c := newClock()
	b := openClean(t, vfs.NewMem(), c, nil)
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted("cleanup.policy", "compact,delete", "retention.ms", "60000")))
	future := kv("a", "from a skewed clock")
	future.Timestamp = c.Now().Add(365 * 24 * time.Hour)
	_, err := b.Append(ctx, "tbl", 0, future)
	require.NoError(t, err)
	for i := range 4 {
		r := kv(fmt.Sprint("k", i), "v") // k0 is a; the rest are other keys
		if i == 0 {
			r.Key = []byte("a")
		}
		r.Timestamp = c.Now()
		_, err := b.Append(ctx, "tbl", 0, r)
		require.NoError(t, err)
	}
	require.NoError(t, b.Cleanup(ctx)) // the cleaner removes the future batch: a@1 supersedes it
	_, err = b.Read(ctx, "tbl", 0, 0, 1<<20)
	require.NoError(t, err)
	c.Add(10 * time.Minute) // every batch left is past retention.ms
	require.NoError(t, b.Cleanup(ctx))
	require.NoError(t, b.Cleanup(ctx))
	start, hwm, err := b.Watermarks("tbl", 0)
	require.NoError(t, err)
	require.EqualValues(t, 5, hwm)
	require.EqualValues(t, 5, start, "batches past retention.ms were kept")
}

// countPrefix counts the keys with a one-byte prefix in a closed broker's
// Pebble store.
func countPrefix(t *testing.T, fs vfs.FS, prefix byte) int {
	t.Helper()
	db, err := pebble.Open("data", &pebble.Options{FS: fs, Logger: silentLog{}})
	require.NoError(t, err)
	defer db.Close()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	require.NoError(t, err)
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

// TestCleanedTopicTimeIndexStaysBounded: a compacted topic updating a
// fixed set of keys keeps a bounded log once cleaned; its time index
// (one entry per batch that raised the max timestamp) must not keep an
// entry for every batch ever appended.
func TestCleanedTopicTimeIndexStaysBounded(t *testing.T) {
	checkTimeIndexBounded(t, func(i int, now time.Time) []cairn.Record {
		return []cairn.Record{kv(fmt.Sprint("k", i%10), fmt.Sprint(i))}
	})
}

// TestCleanedTopicTimeIndexStaysBoundedPartialBatches is the same with
// batches the cleaner first thins (their newest record superseded, which
// lowers their max timestamp) and later removes: their entries, under
// the max timestamp they had when appended, must go too.
func TestCleanedTopicTimeIndexStaysBoundedPartialBatches(t *testing.T) {
	checkTimeIndexBounded(t, func(i int, now time.Time) []cairn.Record {
		cold, hot := kv(fmt.Sprint("k", i%10), fmt.Sprint(i)), kv("hot", fmt.Sprint(i))
		cold.Timestamp, hot.Timestamp = now, now.Add(time.Millisecond)
		return []cairn.Record{cold, hot}
	})
}

// checkTimeIndexBounded appends 2,000 batches of batch(i, now) to a
// compacted topic, cleaning every 100, the clock 2 ms on per batch, and
// fails if the time index ends with more than two entries per batch left.
func checkTimeIndexBounded(t *testing.T, batch func(i int, now time.Time) []cairn.Record) {
	c := newClock()
	fs := vfs.NewMem()
	b := openClean(t, fs, c, nil)
	require.NoError(t, b.CreateTopic(ctx, "tbl", 1, compacted()))
	for i := range 2000 {
		_, err := b.Append(ctx, "tbl", 0, batch(i, c.Now())...)
		require.NoError(t, err)
		c.Add(2 * time.Millisecond)
		if i%100 == 99 {
			require.NoError(t, b.Cleanup(ctx))
		}
	}
	f, err := b.Fetch(ctx, "tbl", 0, 0, 1<<30)
	require.NoError(t, err)
	stored := len(f.Batches)
	require.NoError(t, b.Close())
	entries := countPrefix(t, fs, 'x')
	t.Logf("%d batches stored, %d time index entries", stored, entries)
	require.LessOrEqual(t, entries, 2*stored, "time index entries of batches the cleaner removed are left behind")
}
