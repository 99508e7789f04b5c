package kafka_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/kafka"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Serve a broker to Kafka clients, here franz-go, which produces a record
// and consumes it back; the in-process broker sees the same record.
func ExampleServer() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// An in-memory broker keeps the example self-contained; cairn.Open(dir,
	// nil) gives a durable one on disk.
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer b.Close() // last: after the server

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := kafka.NewServer(b, &kafka.Options{AutoCreateTopics: true})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close() // stops the listener and the connections
		if err := <-served; err != nil {
			panic(err)
		}
	}()

	cl, err := kgo.NewClient(kgo.SeedBrokers(ln.Addr().String()),
		kgo.AllowAutoTopicCreation(), // the server creates "greetings" on first use
		kgo.ConsumeTopics("greetings"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		panic(err)
	}
	defer cl.Close() // first: before the server

	rec := &kgo.Record{Topic: "greetings", Key: []byte("en"), Value: []byte("hello")}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		panic(err)
	}
	fmt.Printf("produced %s/%d@%d\n", rec.Topic, rec.Partition, rec.Offset)

	fetches := cl.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		panic(err)
	}
	fetches.EachRecord(func(r *kgo.Record) {
		fmt.Printf("consumed %s/%d@%d: %s=%s\n", r.Topic, r.Partition, r.Offset, r.Key, r.Value)
	})

	recs, err := b.Read(ctx, "greetings", 0, 0, 1<<20)
	if err != nil {
		panic(err)
	}
	fmt.Printf("in the broker: %s=%s\n", recs[0].Key, recs[0].Value)
	// Output:
	// produced greetings/0@0
	// consumed greetings/0@0: en=hello
	// in the broker: en=hello
}
