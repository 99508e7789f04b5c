// Package cairntest gives a test suite a Cairn broker, or a Kafka-speaking
// listener over one, in one line: in memory, on a random loopback port,
// cleaned up when the test ends. No Docker, no ports to pick.
//
// # Usage
//
// For code that uses Cairn directly:
//
//	func TestOrders(t *testing.T) {
//		b := cairntest.NewBroker(t) // in-memory; closed by t.Cleanup
//		err := b.CreateTopic(ctx, "orders", 3, nil)
//		...
//	}
//
// For code written against a Kafka client (franz-go, sarama,
// segmentio/kafka-go, librdkafka), NewKafka returns the seed address:
//
//	func TestOrdersKafka(t *testing.T) {
//		k := cairntest.NewKafka(t, cairntest.Options{
//			Topics: map[string]int{"orders": 3},
//			Kafka:  kafka.Options{AutoCreateTopics: true},
//		})
//		cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr))
//		...
//		defer cl.Close() // before the listener closes at the test's end
//		// k.Broker is the broker behind the listener, to check what
//		// the client wrote or to feed it records.
//	}
//
// The caller's duties: close clients before the test ends (the cleanup
// closes the listener, and with it every connection, then the broker);
// give at most one Options. A suite sharing one listener starts it in
// TestMain with Start and closes it there.
//
// The broker is durable in name only: its filesystem is memory, so it is
// fast and gone when the test ends. Its memtables are 4 MiB instead of
// 64 MiB, so what Pebble keeps for itself (memtables, WAL files kept to be
// recycled) stays a few MB of RAM however much a test writes; a broker's
// memory follows the data it holds. Set Options.Broker.FS and Options.Dir
// for a broker on disk.
package cairntest
