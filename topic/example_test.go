package topic_test

import (
	"context"
	"fmt"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/topic"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A registry on a Pebble DB it borrows: create a topic, route a key to its
// partition, append to it, and change the topic's configuration.
func Example() {
	ctx := context.Background()
	db, err := pebble.Open("data", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer db.Close() // after the registry: it borrows the DB

	reg, err := topic.Load(topic.Options{DB: db, Sync: true})
	if err != nil {
		panic(err)
	}
	defer reg.Close() // closes the partitions

	t, err := reg.Create("orders", 3, topic.Config{topic.RetentionMs: "3600000"})
	if err != nil {
		panic(err)
	}
	fmt.Println(t.Name, len(t.Partitions), t.Config.Get(topic.RetentionMs), t.Config.Get(topic.CleanupPolicy))

	// Route a key as Kafka's default partitioner does, then append there.
	key := []byte("user-1")
	n := topic.KeyPartition(key, len(t.Partitions))
	p, err := reg.Partition("orders", n)
	if err != nil {
		panic(err)
	}
	base, err := p.Append(ctx, []log.Record{{Key: key, Value: []byte("order #1")}})
	if err != nil {
		panic(err)
	}
	recs, err := p.ReadRecords(base, 1<<20)
	if err != nil {
		panic(err)
	}
	fmt.Printf("partition %d offset %d: %s=%s\n", n, recs[0].Offset, recs[0].Key, recs[0].Value)

	// Config changes take effect on the running partitions.
	t, err = reg.AlterConfig("orders", topic.Config{topic.MaxMessageBytes: "2097152"}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(t.Config.Get(topic.MaxMessageBytes), p.Config().MaxMessageBytes)

	_, err = reg.Partition("orders", 3)
	fmt.Println(err)
	// Output:
	// orders 3 3600000 delete
	// partition 2 offset 0: user-1=order #1
	// 2097152 2097152
	// cairn: unknown partition: orders/3
}
