package cairntest_test

import (
	"context"
	"fmt"

	"github.com/cairnlog/cairn/cairntest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Start gives a listener without a testing.TB, as in TestMain; tests call
// cairntest.NewKafka(t) instead and leave the closing to t.Cleanup.
func ExampleStart() {
	ctx := context.Background()
	k, err := cairntest.Start(&cairntest.Options{Topics: map[string]int{"greetings": 1}})
	if err != nil {
		panic(err)
	}
	defer k.Close()

	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr),
		kgo.ConsumeTopics("greetings"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	rec := &kgo.Record{Topic: "greetings", Value: []byte("hello")}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		panic(err)
	}
	fetches := cl.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		panic(err)
	}
	fetches.EachRecord(func(r *kgo.Record) { fmt.Printf("%s/%d@%d: %s\n", r.Topic, r.Partition, r.Offset, r.Value) })

	// The broker behind the listener sees the same record.
	recs, err := k.Broker.Read(ctx, "greetings", 0, 0, 1<<20)
	if err != nil {
		panic(err)
	}
	fmt.Println("in the broker:", string(recs[0].Value))
	// Output:
	// greetings/0@0: hello
	// in the broker: hello
}
