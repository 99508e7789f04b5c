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

// A Poll loop that recycles each Poll's records once it has used them.
func ExampleFetches_Recycle() {
	ctx := context.Background()
	b, _ := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	defer b.Close()
	_ = b.CreateTopic(ctx, "events", 1, nil)
	for i := range 3 {
		_, _ = b.Append(ctx, "events", 0, cairn.Record{Value: fmt.Appendf(nil, "event %d", i)})
	}

	c, err := consumer.New(b, &consumer.Options{Topics: []string{"events"}})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var values []string // what outlives the loop is copied out
	for len(values) < 3 {
		f, err := c.Poll(ctx)
		if err != nil {
			panic(err)
		}
		for _, rec := range f.Records {
			values = append(values, string(rec.Value))
		}
		f.Recycle() // f's records must not be used from here on
	}
	fmt.Println(values)
	// Output:
	// [event 0 event 1 event 2]
}
