// Package cairn is an embeddable event log with Kafka's model: topics split
// into partitions, each an ordered, durable log of records addressed by
// offset, stored in Pebble inside your process.
//
// # Usage
//
// Open a Broker on a directory, create a topic, append and read:
//
//	b, err := cairn.Open("./data", nil) // durable: every append is fsynced
//	if err != nil { ... }
//	defer b.Close()
//	err = b.CreateTopic(ctx, "events", 3, cairn.TopicConfig{"retention.ms": "86400000"})
//	off, err := b.Append(ctx, "events", 0, cairn.Record{Key: []byte("k"), Value: []byte("v")})
//	recs, err := b.Read(ctx, "events", 0, off, 1<<20)
//	err = b.Wait(ctx, "events", 0, off+1) // long-poll for the next record
//
// Records appended in one call form one batch: all are stored or none.
// Offsets are dense and increase by one per record. A reader sees records
// below the partition's high watermark, which moves only once an append is
// acknowledged (after fsync under SyncAlways).
//
// # Durability
//
// Options.Durability picks what an acknowledged append survives:
// SyncAlways (default) survives a process kill and a power loss;
// SyncInterval and NoSync trade that for throughput (see their docs).
//
// # Errors
//
// Every error matches an exported sentinel with errors.Is (ErrUnknownTopic,
// ErrOffsetOutOfRange, ErrClosed, ...); errors about a place in a log are
// structs (*OffsetError, *PartitionError) with topic, partition and offset.
// A call that fails changes nothing, except Broker.CommitOffsets: as
// Kafka answers per partition, it stores the commit's known partitions
// and returns the error of a topic or partition that does not exist.
package cairn
