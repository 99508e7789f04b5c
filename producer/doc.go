// Package producer writes records to a broker's partitions: it picks each
// record's partition, batches records per partition, compresses batches,
// bounds what it buffers, and (by default) makes appends idempotent.
//
// # Usage
//
//	p, err := producer.New(ctx, broker, nil) // *cairn.Broker implements producer.Broker
//	defer p.Close(ctx)                       // sends what is buffered
//
//	// Synchronous: sends at once, never waits out the linger.
//	res := p.ProduceSync(ctx, &producer.Record{Topic: "orders", Key: k, Value: v})
//	if err := res.FirstErr(); err != nil { ... }
//	fmt.Println(res[0].Record.Partition, res[0].Record.Offset)
//
//	// Asynchronous: the promise runs once the record is appended.
//	p.Produce(ctx, &producer.Record{Topic: "orders", Value: v}, func(r *producer.Record, err error) { ... })
//	err = p.Flush(ctx)
//
// Records with a key go to the partition Kafka's clients pick (murmur2);
// keyless records stick to one partition per batch. Records of one
// partition are appended in the order Produce was called. With idempotence
// each batch carries the producer id and sequence numbers, so a batch whose
// acknowledgement was lost is retried without being stored twice, even
// across a broker restart. A partition keeps up to Options.MaxInFlight
// batches (5) appending at once, as Kafka's producers keep requests in
// flight: with a broker that fsyncs every append (cairn.SyncAlways, the
// default), the batches that form while one waits for its fsync share the
// next one instead of each waiting in turn. Promises still run in order.
//
// A batch is sent once it reaches Options.BatchBytes (128 KiB, Kafka's
// batch.size) or its linger ends, or at once with the default linger of
// 0, in which case it holds what arrived while the previous one was being
// appended; while an earlier batch of the partition waits for its fsync,
// it may grow to Options.MaxBatchBytes (1,000,000), which also caps a
// record. Batches do not wait out the linger during Flush or ProduceSync,
// nor while a Produce waits for room in a full buffer: only sending them
// frees that room.
//
// Errors come through the promise (or Results): the broker's sentinels
// (cairn.ErrUnknownTopic, cairn.ErrMessageTooLarge, ...), ErrBufferFull
// with Options.FailFast, and cairn.ErrClosed after Close.
package producer
