package cairn_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2/vfs"
)

var errorsIs = errors.Is

func Example() {
	ctx := context.Background()
	// An in-memory filesystem keeps the example self-contained; pass a
	// directory and nil options for a durable broker on disk.
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	if err := b.CreateTopic(ctx, "greetings", 1, nil); err != nil {
		panic(err)
	}
	base, err := b.Append(ctx, "greetings", 0,
		cairn.Record{Key: []byte("en"), Value: []byte("hello")},
		cairn.Record{Key: []byte("fr"), Value: []byte("bonjour")},
	)
	if err != nil {
		panic(err)
	}
	recs, err := b.Read(ctx, "greetings", 0, base, 1<<20)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Printf("%d %s=%s\n", r.Offset, r.Key, r.Value)
	}
	// Output:
	// 0 en=hello
	// 1 fr=bonjour
}

func ExampleBroker_Read_outOfRange() {
	b, _ := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	defer b.Close()
	_ = b.CreateTopic(context.Background(), "t", 1, nil)

	_, err := b.Read(context.Background(), "t", 0, 42, 1<<20)
	var oe *cairn.OffsetError
	fmt.Println(errors.Is(err, cairn.ErrOffsetOutOfRange), errors.As(err, &oe), oe.HighWatermark)
	// Output: true true 0
}
