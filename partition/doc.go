// Package partition is one partition's log: append, read, watermarks and
// waiting for new data, on a Pebble DB it borrows.
//
// Each stored batch is one Pebble key, d|topicID|partition|lastOffset, whose
// value is the RecordBatch v2 verbatim. Reading offset X is one SeekGE(X):
// the first batch whose last offset is at least X holds X.
//
// Appends take the partition's lock only to assign offsets and hand the
// batch to Pebble; with Sync, the fsync is waited for outside the lock so
// concurrent appends share one (group commit). The high watermark moves
// only once an append is acknowledged; readers take no lock and read below
// it. Waiters block on a channel that is closed and replaced on each move.
//
// # Usage
//
//	p, err := partition.Open(partition.Options{DB: db, Topic: "t", TopicID: 1,
//		Partition: 0, Config: partition.Config{MaxMessageBytes: 1 << 20}, Sync: true})
//	base, err := p.Append(ctx, []log.Record{{Value: v}})
//	recs, err := p.ReadRecords(base, 1<<20)
//	err = p.Wait(ctx, p.HighWatermark()) // block until the next append
//	p.Close()                            // the caller closes the DB afterwards
//
// Most programs use the root package's Broker instead, which owns the DB
// and the partitions.
package partition
