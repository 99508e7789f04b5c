package producer_test

import (
	"context"
	"fmt"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/producer"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func Example() {
	ctx := context.Background()
	b, _ := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	defer b.Close()
	_ = b.CreateTopic(ctx, "orders", 4, nil)

	p, err := producer.New(ctx, b, nil)
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)
	res := p.ProduceSync(ctx,
		&producer.Record{Topic: "orders", Key: []byte("customer-7"), Value: []byte("book")},
		&producer.Record{Topic: "orders", Key: []byte("customer-7"), Value: []byte("lamp")},
	)
	if err := res.FirstErr(); err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Printf("%s -> partition %d offset %d\n", r.Record.Value, r.Record.Partition, r.Record.Offset)
	}
	// Output:
	// book -> partition 3 offset 0
	// lamp -> partition 3 offset 1
}
