// Package log defines Cairn's storage format: records, Kafka RecordBatch v2
// encoding and validation, compression codecs, and the Pebble key layout.
//
// A batch is the unit of storage. It is validated once when it enters a
// partition, stamped with its base offset (which the CRC does not cover),
// stored with its records' bytes as they came, and served to readers
// without re-encoding. Only header fields change, with a new CRC, where
// Kafka's broker changes them too: a max timestamp above the records'
// (Batch.Normalize) and the log append time, as the topic's
// message.timestamp.type says (Batch.SetLogAppendTime, SetCreateTime).
//
// # Usage
//
//	raw, err := log.Encode(nil, []log.Record{{Key: k, Value: v}}, log.Zstd, nil, time.Now())
//	b, err := log.Parse(raw)          // header, length and CRC checks
//	recs, err := b.Records(nil)       // decompress and decode
//
// A writer that gathers records over time (a producer) encodes them one
// at a time into a reused buffer with a Builder; the batch it finishes is
// already checked, so a partition does not validate it again:
//
//	var bl log.Builder
//	for _, r := range pending {
//		if err := bl.Add(&r, time.Now()); err != nil { ... }
//	}
//	b, err := bl.Finish(log.Snappy, nil) // valid until the next Add, Reset or Finish
//
// With every record at hand, bl.Build(recs, codec, producer, now) does
// the same in one call, still in bl's buffers (a partition's Append keeps
// a pool of builders this way).
//
// Errors wrap the sentinels ErrCorruptBatch, ErrUnknownCodec,
// ErrUnsupportedMagic, ErrInvalidHeader and ErrEmptyBatch; a batch a
// client may not write (a control batch, say) fails with both
// ErrCorruptBatch and ErrInvalidRecord.
package log
