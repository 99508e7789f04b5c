package cairn_test

import (
	"encoding/binary"
	"hash/crc32"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// InitProducerID racing Close gets ErrClosed or an id, never a panic: it
// writes to Pebble directly, and Close waits for it (it panicked in a
// closed Pebble).
func TestInitProducerIDRacesClose(t *testing.T) {
	for i := 0; i < 50; i++ {
		b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1, Durability: cairn.NoSync})
		var wg sync.WaitGroup
		var panicked any
		var mu sync.Mutex
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if r := recover(); r != nil {
						mu.Lock()
						panicked = r
						mu.Unlock()
					}
				}()
				for {
					if _, _, err := b.InitProducerID(ctx); err != nil {
						return
					}
				}
			}()
		}
		time.Sleep(time.Millisecond)
		b.Close()
		wg.Wait()
		if panicked != nil {
			t.Fatalf("iteration %d: InitProducerID panicked: %v", i, panicked)
		}
	}
}

// Cleanup racing Close ends: Close stops the pass and waits for it (a
// pass could compact the closed Pebble and wait for good).
func TestCleanupRacesClose(t *testing.T) {
	for i := 0; i < 100; i++ {
		b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1, Durability: cairn.NoSync})
		require.NoError(t, b.CreateTopic(ctx, "t", 1, cairn.TopicConfig{"cleanup.policy": "compact"}))
		for j := 0; j < 200; j++ {
			_, err := b.Append(ctx, "t", 0, cairn.Record{Key: []byte("k"), Value: []byte("v")})
			require.NoError(t, err)
		}
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			for off := int64(1); ; off++ {
				if err := b.DeleteRecords(ctx, "t", 0, off); err != nil {
					return
				}
				if err := b.Cleanup(ctx); err != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(i%10) * time.Millisecond)
		require.NoError(t, b.Close())
		select {
		case r := <-done:
			if r != nil {
				t.Fatalf("iteration %d: Cleanup panicked: %v", i, r)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("iteration %d: Close returned but Cleanup is still running 5s later (stuck in pebble Compact on the closed DB)", i)
		}
	}
}

// A batch whose header's max timestamp is below its records' is refused
// and stores nothing: retention and the time index go by the header, so a
// batch of records stamped now under a header saying 1970 was deleted by
// the next retention pass. (From a review helper's reproduction.)
func TestHeaderMaxTimestampBelowRecordsRefused(t *testing.T) {
	b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1})
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	now := time.Now()
	bt, err := log.Build([]log.Record{{Value: []byte("a"), Timestamp: now.Add(-time.Second)}, {Value: []byte("fresh"), Timestamp: now}}, log.None, nil, now)
	require.NoError(t, err)
	raw := append([]byte(nil), bt.Bytes()...)
	binary.BigEndian.PutUint64(raw[35:], uint64(now.Add(-time.Second).UnixMilli())) // max timestamp: the first record's
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	_, err = b.AppendBatch(ctx, "t", 0, raw)
	require.ErrorIs(t, err, log.ErrCorruptBatch)
	_, hwm, err := b.Watermarks("t", 0)
	require.NoError(t, err)
	require.Zero(t, hwm)
	_, err = b.AppendBatch(ctx, "t", 0, bt.Bytes()) // the batch as built
	require.NoError(t, err)
}

// A topic holding records appended without compaction cannot become
// compacted: its key index would miss them, and Get answered from an
// older record of the key (v1 after v2). The refusal changes nothing; a
// topic without readable records can switch. (From a review helper's
// reproduction.)
func TestCompactOnlyWithoutUnindexedRecords(t *testing.T) {
	b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1})
	defer b.Close()
	require.NoError(t, b.CreateTopic(ctx, "t", 1, cairn.TopicConfig{"cleanup.policy": "compact"}))
	_, err := b.Append(ctx, "t", 0, cairn.Record{Key: []byte("k"), Value: []byte("v1")})
	require.NoError(t, err)
	require.NoError(t, b.AlterTopicConfig(ctx, "t", cairn.TopicConfig{"cleanup.policy": "delete"}))
	_, err = b.Append(ctx, "t", 0, cairn.Record{Key: []byte("k"), Value: []byte("v2")})
	require.NoError(t, err)
	err = b.AlterTopicConfig(ctx, "t", cairn.TopicConfig{"cleanup.policy": "compact"})
	require.ErrorIs(t, err, cairn.ErrInvalidConfig)
	info, err := b.DescribeTopic(ctx, "t")
	require.NoError(t, err)
	for _, e := range info.Config {
		if e.Key == "cleanup.policy" {
			require.Equal(t, "delete", e.Value, "the refused change changed nothing")
		}
	}

	require.NoError(t, b.CreateTopic(ctx, "empty", 1, nil))
	require.NoError(t, b.AlterTopicConfig(ctx, "empty", cairn.TopicConfig{"cleanup.policy": "compact"}))
	_, err = b.Append(ctx, "empty", 0, cairn.Record{Key: []byte("k"), Value: []byte("v")})
	require.NoError(t, err)
	r, err := b.Get(ctx, "empty", []byte("k"))
	require.NoError(t, err)
	require.Equal(t, "v", string(r.Value))
}
