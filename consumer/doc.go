// Package consumer reads records from a broker's partitions: explicitly
// assigned ones, or every partition of subscribed topics (including those
// added later).
//
// # Usage
//
//	c, err := consumer.New(broker, &consumer.Options{
//		Topics: []string{"orders"},
//		Start:  consumer.AtTime(time.Now().Add(-time.Hour)), // or Earliest(), Latest(), At(n)
//	})
//	defer c.Close()
//	for rec, err := range c.Records(ctx) {
//		if err != nil { ... } // a partition error, or ctx's error at the end
//		fmt.Println(rec.Topic, rec.Partition, rec.Offset, string(rec.Value))
//	}
//
// Poll is the batch form: it returns the records available now, waiting
// for the next append to any of the consumer's partitions when there are
// none (one select over their change channels; no goroutines, no sleeps).
// Records of a partition come in offset order, each once, unless Seek moves
// back. Pause and Resume stop and restart partitions. A position outside
// the log (after retention, say) is reset as Options.OnOutOfRange says.
// A subscribed topic that is deleted is dropped, its error returned once.
// An assigned partition (Options.Partitions, or the group's assignment)
// that does not exist is kept: its error is returned once, and it is
// looked at again every MetadataInterval, then read if it is back.
//
// A loop that is done with each Poll's records before the next Poll can
// recycle them, so later Polls decode into the same memory instead of
// allocating about 260 bytes per 100-byte record for the garbage collector
// (Cairn's records live outside the Go heap, so its heap is small and the
// collector would run often):
//
//	for {
//		f, err := c.Poll(ctx)
//		if err != nil { ... }
//		for _, rec := range f.Records {
//			handle(rec) // must not keep rec, its Key, Value or Headers
//		}
//		f.Recycle()
//	}
//
// BenchmarkConsume in benchmarks/ measures such a loop at 1.4 to 1.7 times
// the records per second of one that does not recycle on one partition,
// and 2.0 to 2.3 times on eight (2 cores, which the collector competes
// for).
package consumer
