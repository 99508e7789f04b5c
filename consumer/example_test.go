package consumer_test

import (
	"context"
	"fmt"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func Example() {
	ctx := context.Background()
	b, _ := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	defer b.Close()
	_ = b.CreateTopic(ctx, "events", 1, nil)
	_, _ = b.Append(ctx, "events", 0,
		cairn.Record{Value: []byte("first")}, cairn.Record{Value: []byte("second")})

	c, err := consumer.New(b, &consumer.Options{Topics: []string{"events"}})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	n := 0
	for rec, err := range c.Records(ctx) {
		if err != nil {
			panic(err)
		}
		fmt.Println(rec.Offset, string(rec.Value))
		if n++; n == 2 {
			break
		}
	}
	// Output:
	// 0 first
	// 1 second
}
