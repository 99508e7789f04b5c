// Command quickstart opens a durable Cairn broker in a temporary directory,
// creates a topic, appends records, reads them back and prints them.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cairnlog/cairn"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "cairn-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	b, err := cairn.Open(dir, nil) // nil options: every append is fsynced
	if err != nil {
		return err
	}
	defer b.Close()

	if err := b.CreateTopic(ctx, "events", 1, nil); err != nil {
		return err
	}
	base, err := b.Append(ctx, "events", 0,
		cairn.Record{Key: []byte("user-1"), Value: []byte("signed up")},
		cairn.Record{Key: []byte("user-2"), Value: []byte("signed up")},
		cairn.Record{Key: []byte("user-1"), Value: []byte("placed order #1"),
			Headers: []cairn.Header{{Key: "source", Value: []byte("web")}}},
	)
	if err != nil {
		return err
	}
	recs, err := b.Read(ctx, "events", 0, base, 1<<20)
	if err != nil {
		return err
	}
	fmt.Printf("data dir: %s\n", dir)
	for _, r := range recs {
		fmt.Printf("offset=%d key=%s value=%q time=%s headers=%d\n",
			r.Offset, r.Key, r.Value, r.Timestamp.Format(time.RFC3339), len(r.Headers))
	}
	logStart, hwm, err := b.Watermarks("events", 0)
	if err != nil {
		return err
	}
	fmt.Printf("events/0: log start %d, high watermark %d\n", logStart, hwm)
	return nil
}
