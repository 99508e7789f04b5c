// Package topic keeps a broker's topics: Kafka's naming rules, per-topic
// configuration by Kafka key name, and the registry that creates, alters,
// grows and deletes topics and owns their partitions.
//
// The registry is read without locks (an immutable map behind an atomic
// pointer, replaced on each change) so finding a partition on the append
// path costs a map lookup; changes are serialized by one mutex.
//
// # Usage
//
//	reg, err := topic.Load(topic.Options{DB: db, Sync: true})
//	t, err := reg.Create("orders", 3, topic.Config{topic.RetentionMs: "3600000"})
//	p, err := reg.Partition("orders", 2)
//	_, err = reg.AlterConfig("orders", topic.Config{topic.MaxMessageBytes: "2097152"}, nil)
//	reg.Close() // closes the partitions; the caller closes the DB
//
// Most programs use the root package's Broker instead.
package topic
