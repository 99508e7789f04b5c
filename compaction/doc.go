// Package compaction holds Cairn's cleanup policies: retention, which drops
// a partition's oldest batches by time and size, and the log cleaner, which
// rewrites the old part of a compacted partition keeping only the latest
// record of each key.
//
// It sits below package partition and does not import it: it works on any
// log that implements the small Log (cleaning) and Retainer (retention)
// interfaces, which *partition.Partition does. The root package runs both
// from a background scheduler (see cairn.Options.CleanupInterval).
//
// # Cleaning
//
// A partition is split at two offsets: the cleaner checkpoint (below it,
// the log was cleaned at least once; above it, it is dirty) and the end of
// the cleanable part, which excludes the newest batch (the active tail)
// and every batch younger than min.compaction.lag.ms. A pass starts when
// the dirty part is at least min.cleanable.dirty.ratio of the cleanable
// bytes, or when its oldest batch is older than max.compaction.lag.ms. It
//
//  1. reads the dirty part into a key map (a 128-bit hash of each key to
//     its latest offset), stopping at a batch boundary when the map is
//     full (Options.KeyMapSize keys), and
//  2. rewrites every batch from the log start to where the map stopped
//     with log.Batch.Filter, keeping a record unless a later record of the
//     same key is in the map, or it is a tombstone that was first cleaned
//     delete.retention.ms ago or more (Kafka's delete horizon, KIP-534:
//     a consumer reading from the start has that long to see the delete,
//     whatever timestamp the tombstone carries) and whose batch is older
//     than delete.retention.ms too.
//
// Offsets never change: a rewritten batch keeps its offset range and
// storage key, and a batch left empty is deleted, so readers see gaps. The
// rewrite is applied in steps of about Options.StepBytes, each atomic, and
// the checkpoint moves only with the last step: a crash at any point
// leaves a valid log, and the next pass redoes the work. A partition with
// more keys than the map holds is cleaned in several passes.
//
// The cleaner never drops the latest record of a key (except a tombstone
// past delete.retention.ms, whose key is then gone), never touches a record
// younger than min.compaction.lag.ms, and never reorders records.
//
// # Usage
//
//	c := compaction.NewCleaner(compaction.Options{KeyMapSize: 1 << 20})
//	res, err := c.Clean(ctx, part, compaction.Policy{MinDirtyRatio: 0.5,
//		DeleteRetention: 24 * time.Hour}, time.Now())
//	logStart, err := compaction.Retain(ctx, part, compaction.Retention{Time: 7 * 24 * time.Hour, Bytes: -1}, time.Now())
//
// A Cleaner is not safe for concurrent use: run one pass at a time, or one
// Cleaner per goroutine.
package compaction
