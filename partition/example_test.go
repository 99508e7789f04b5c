package partition_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A partition on a Pebble DB it borrows: append, read back, and wait for
// the next append.
func Example() {
	ctx := context.Background()
	db, err := pebble.Open("data", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer db.Close() // after the partition: it borrows the DB

	p, err := partition.Open(partition.Options{DB: db, Topic: "t", TopicID: 1,
		Partition: 0, Config: partition.Config{MaxMessageBytes: 1 << 20}, Sync: true})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	base, err := p.Append(ctx, []log.Record{{Value: []byte("a")}, {Value: []byte("b")}})
	if err != nil {
		panic(err)
	}
	recs, err := p.ReadRecords(base, 1<<20)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Println(r.Offset, string(r.Value))
	}
	fmt.Println("high watermark:", p.HighWatermark())

	// Wait blocks until a record at the given offset can be read.
	next := p.HighWatermark()
	done := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		done <- p.Wait(wctx, next)
	}()
	if _, err := p.Append(ctx, []log.Record{{Value: []byte("c")}}); err != nil {
		panic(err)
	}
	if err := <-done; err != nil {
		panic(err)
	}
	recs, err = p.ReadRecords(next, 1<<20)
	if err != nil {
		panic(err)
	}
	fmt.Println("woken for", recs[0].Offset, string(recs[0].Value))
	// Output:
	// 0 a
	// 1 b
	// high watermark: 2
	// woken for 2 c
}

// Reading outside the log gives an *OffsetError with the valid range.
func ExamplePartition_ReadRecords_outOfRange() {
	db, err := pebble.Open("data", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	p, err := partition.Open(partition.Options{DB: db, Topic: "t", TopicID: 1,
		Config: partition.Config{MaxMessageBytes: 1 << 20}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	if _, err := p.Append(context.Background(), []log.Record{{Value: []byte("only")}}); err != nil {
		panic(err)
	}

	_, err = p.ReadRecords(5, 1<<20)
	var oe *partition.OffsetError
	if errors.As(err, &oe) {
		fmt.Println(errors.Is(err, partition.ErrOffsetOutOfRange), oe.Offset, oe.LogStart, oe.HighWatermark)
	}
	// Output: true 5 0 1
}
