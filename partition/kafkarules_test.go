package partition

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// withAttributes returns raw with its attribute bits or'ed with attr and
// its CRC recomputed.
func withAttributes(raw []byte, attr uint16) []byte {
	raw = append([]byte(nil), raw...)
	binary.BigEndian.PutUint16(raw[21:], binary.BigEndian.Uint16(raw[21:])|attr)
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// TestAppendRefusesControlBatch: Kafka refuses a control batch (attribute
// bit 5) from a client ("Clients are not allowed to write control
// records"); control records are written by the transaction coordinator
// only, and consumers treat them as markers, not data.
func TestAppendRefusesControlBatch(t *testing.T) {
	p := newPartition(t, true)
	// A commit marker as Kafka writes it: key = version 0, type 1 (commit).
	rec := []log.Record{{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}}}
	raw, err := log.Encode(nil, rec, log.None, &log.Producer{ID: 9, Epoch: 0, Sequence: 0}, time.Now())
	require.NoError(t, err)
	raw = withAttributes(raw, 0x10|0x20) // transactional control batch
	b, err := log.Parse(raw)
	require.NoError(t, err)
	require.True(t, b.Control())
	_, err = p.AppendBatch(ctx, raw)
	require.ErrorIs(t, err, log.ErrCorruptBatch, "a client's control batch was stored")
	require.Equal(t, int64(0), p.HighWatermark())
}

// TestAppendRefusesTransactionalWithoutProducer: Kafka refuses a
// transactional batch without a producer id ("Transactional records must
// have a valid producer id").
func TestAppendRefusesTransactionalWithoutProducer(t *testing.T) {
	p := newPartition(t, true)
	raw, err := log.Encode(nil, recs(2, "x"), log.None, nil, time.Now())
	require.NoError(t, err)
	raw = withAttributes(raw, 0x10)
	_, err = p.AppendBatch(ctx, raw)
	require.ErrorIs(t, err, log.ErrCorruptBatch, "a transactional batch without producer id was stored")
}

// TestIdempotentProducerResumesAfterExpiry: a producer whose dedupe state
// expired (idle past ProducerExpiry when the partition reopened) and then
// sends its next batch must be accepted, as Kafka accepts any sequence
// from a producer id it holds no state for.
func TestIdempotentProducerResumesAfterExpiry(t *testing.T) {
	fs := vfs.NewMem()
	db := openDB(t, fs)
	defer db.Close()
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	openAt := func() *Partition {
		p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Sync: true, Now: clock,
			Config: Config{MaxMessageBytes: 1 << 20}})
		require.NoError(t, err)
		return p
	}
	p := openAt()
	for seq := int32(0); seq < 10; seq += 2 {
		_, err := p.AppendBatch(ctx, idemBatch(t, 42, 0, seq, 2))
		require.NoError(t, err)
	}
	require.NoError(t, p.Close())

	now = now.Add(DefaultProducerExpiry + time.Hour) // the producer idles, the broker restarts
	p = openAt()
	defer p.Close()
	base, err := p.AppendBatch(ctx, idemBatch(t, 42, 0, 10, 2)) // its next batch
	require.NoError(t, err, "a live producer is refused once its state expired")
	require.Equal(t, int64(10), base)
}

// TestProducerStateExpiresWhileRunning: ProducerExpiry says how long an
// idle producer's dedupe state is kept, as Kafka's
// producer.id.expiration.ms, which Kafka enforces while it runs. Here
// the state of every producer id ever seen stays in memory (and in
// Pebble) until the partition is reopened: a broker serving short-lived
// idempotent producers (each Kafka client instance gets a new id) grows
// without bound.
func TestProducerStateExpiresWhileRunning(t *testing.T) {
	db := openDB(t, vfs.NewMem())
	defer db.Close()
	now := time.Unix(1_700_000_000, 0)
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Sync: true,
		Now: func() time.Time { return now }, ProducerExpiry: time.Hour,
		Config: Config{MaxMessageBytes: 1 << 20}})
	require.NoError(t, err)
	defer p.Close()
	for id := int64(0); id < 1000; id++ { // short-lived producers, one batch each
		_, err := p.AppendBatch(ctx, idemBatch(t, id, 0, 0, 1))
		require.NoError(t, err)
	}
	now = now.Add(3 * time.Hour) // all of them idle past the expiry
	for id := int64(1000); id < 1010; id++ {
		_, err := p.AppendBatch(ctx, idemBatch(t, id, 0, 0, 1))
		require.NoError(t, err)
	}
	p.mu.Lock()
	n := len(p.mu.producers)
	p.mu.Unlock()
	require.LessOrEqual(t, n, 10, "producer states kept after they expired")
	require.LessOrEqual(t, countProducerKeys(t, p), 10, "producer states kept in Pebble after they expired")
}

func countProducerKeys(t *testing.T, p *Partition) int {
	prefix := log.PartitionPrefix(nil, log.PrefixProducer, p.id, uint32(p.index))
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: log.PrefixEnd(prefix)})
	require.NoError(t, err)
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

// TestClientLogAppendTimeBitOnCreateTimeTopic: a client batch that sets
// the timestamp-type bit (LogAppendTime) on a CreateTime topic skips the
// max-timestamp check (checkMaxTimestamp leaves such batches alone) and
// is stored with whatever max timestamp it claims: its records read back
// with that timestamp, not their own, and retention and the time index
// go by it. Kafka's validator rewrites the batch as CreateTime with the
// max timestamp of its records.
func TestClientLogAppendTimeBitOnCreateTimeTopic(t *testing.T) {
	p := newPartition(t, true) // a CreateTime topic
	at := time.UnixMilli(1_700_000_000_000)
	in := []log.Record{{Value: []byte("a"), Timestamp: at}, {Value: []byte("b"), Timestamp: at.Add(time.Second)}}
	raw, err := log.Encode(nil, in, log.None, nil, at)
	require.NoError(t, err)
	raw = withAttributes(raw, 0x08)                 // LogAppendTime
	binary.BigEndian.PutUint64(raw[35:], uint64(1)) // max timestamp: 1 ms after the epoch
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	_, err = p.AppendBatch(ctx, raw)
	require.NoError(t, err, "Kafka accepts the batch (and rewrites it as CreateTime)")
	got, err := p.ReadRecords(0, 1<<20)
	require.NoError(t, err)
	for i := range in {
		require.Equal(t, in[i].Timestamp.UnixMilli(), got[i].Timestamp.UnixMilli(),
			"record %d of a CreateTime topic read back with the batch's claimed time", i)
	}
}
