// Command compacted-table uses a compacted topic as a durable key-value
// table: it writes account balances (updates and a delete) through the
// producer, reads them back with Get (a point lookup in the key index, no
// log replay), lets the cleaner drop the superseded records, and consumes
// what is left as a changelog: the latest record of every key, at its
// original offset.
//
//	go run ./examples/compacted-table
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/producer"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compacted-table:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "cairn-table-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := cairn.Open(dir, nil)
	if err != nil {
		return err
	}
	defer b.Close()

	// cleanup.policy=compact keeps the latest record per key; a dirty
	// ratio of 0 makes every cleanup pass clean (the default, 0.5, waits
	// for half the log to be dirty).
	err = b.CreateTopic(ctx, "balances", 1, cairn.TopicConfig{
		"cleanup.policy":            "compact",
		"min.cleanable.dirty.ratio": "0",
	})
	if err != nil {
		return err
	}
	p, err := producer.New(ctx, b, nil)
	if err != nil {
		return err
	}
	for _, u := range []struct{ key, value string }{
		{"alice", "100"}, {"bob", "20"}, {"carol", "7"},
		{"alice", "80"}, {"bob", "35"}, {"alice", "95"},
		{"carol", ""}, // a tombstone: carol closed her account
		{"dave", "1"},
	} {
		r := &producer.Record{Topic: "balances", Key: []byte(u.key)}
		if u.value != "" {
			r.Value = []byte(u.value)
		}
		if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
			return err
		}
	}
	if err := p.Close(ctx); err != nil {
		return err
	}

	// Records without a key have no place in a table.
	_, err = b.Append(ctx, "balances", 0, cairn.Record{Value: []byte("?")})
	fmt.Fprintln(w, "keyless append:", err)

	for _, k := range []string{"alice", "bob", "carol", "erin"} {
		r, err := b.Get(ctx, "balances", []byte(k))
		if err != nil {
			fmt.Fprintf(w, "get %s: %v\n", k, err)
			continue
		}
		fmt.Fprintf(w, "get %s = %s (offset %d)\n", k, r.Value, r.Offset)
	}

	// The background cleaner runs every 15s; run a pass now.
	if err := b.Cleanup(ctx); err != nil {
		return err
	}
	st, err := b.PartitionStats("balances", 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "cleaned %d records, log offsets [%d, %d)\n", st.RecordsCleaned, st.LogStart, st.HighWatermark)

	// Consume the changelog: gaps where superseded records were.
	recs, err := b.Read(ctx, "balances", 0, 0, 1<<20)
	if err != nil {
		return err
	}
	for _, r := range recs {
		v := string(r.Value)
		if r.Value == nil {
			v = "<tombstone>"
		}
		fmt.Fprintf(w, "offset %d: %s = %s\n", r.Offset, r.Key, v)
	}
	return nil
}
