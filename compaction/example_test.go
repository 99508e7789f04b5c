package compaction_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Cleaning a compacted partition keeps the latest record of each key. The
// newest batch (the active tail) is left alone, offsets never change, and
// a tombstone stays for delete.retention.ms after the pass that first
// cleaned it.
func ExampleCleaner_Clean() {
	ctx := context.Background()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	db, err := pebble.Open("data", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	p, err := partition.Open(partition.Options{DB: db, Topic: "prices", TopicID: 1,
		Config: partition.Config{MaxMessageBytes: 1 << 20, Compacted: true},
		Now:    func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	for _, batch := range [][]log.Record{
		{{Key: []byte("apple"), Value: []byte("1.00")}, {Key: []byte("pear"), Value: []byte("2.00")}},
		{{Key: []byte("apple"), Value: []byte("1.10")}, {Key: []byte("pear"), Value: nil}}, // pear deleted
		{{Key: []byte("apple"), Value: []byte("1.20")}},
		{{Key: []byte("plum"), Value: []byte("3.00")}}, // the active tail
	} {
		if _, err := p.Append(ctx, batch); err != nil {
			panic(err)
		}
	}

	c := compaction.NewCleaner(compaction.Options{KeyMapSize: 1 << 20})
	res, err := c.Clean(ctx, p, compaction.Policy{MinDirtyRatio: 0.5,
		DeleteRetention: 24 * time.Hour}, now)
	if err != nil {
		panic(err)
	}
	fmt.Printf("passes %d, read %d, removed %d\n", res.Passes, res.Read, res.Removed)

	recs, err := p.ReadRecords(p.LogStart(), 1<<20)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		if r.Value == nil {
			fmt.Printf("%d %s deleted\n", r.Offset, r.Key)
			continue
		}
		fmt.Printf("%d %s=%s\n", r.Offset, r.Key, r.Value)
	}
	// Output:
	// passes 1, read 5, removed 3
	// 3 pear deleted
	// 4 apple=1.20
	// 5 plum=3.00
}

// Retention drops a partition's oldest batches, here those older than a day.
func ExampleRetain() {
	ctx := context.Background()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	db, err := pebble.Open("data", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	p, err := partition.Open(partition.Options{DB: db, Topic: "events", TopicID: 1,
		Config: partition.Config{MaxMessageBytes: 1 << 20}})
	if err != nil {
		panic(err)
	}
	defer p.Close()

	for _, age := range []time.Duration{72 * time.Hour, 48 * time.Hour, time.Hour} {
		rec := log.Record{Value: fmt.Appendf(nil, "%v old", age), Timestamp: now.Add(-age)}
		if _, err := p.Append(ctx, []log.Record{rec}); err != nil {
			panic(err)
		}
	}

	start, err := compaction.Retain(ctx, p, compaction.Retention{Time: 24 * time.Hour, Bytes: -1}, now)
	if err != nil {
		panic(err)
	}
	recs, err := p.ReadRecords(start, 1<<20)
	if err != nil {
		panic(err)
	}
	fmt.Println("log start", start, "high watermark", p.HighWatermark())
	fmt.Println(recs[0].Offset, string(recs[0].Value))
	// Output:
	// log start 2 high watermark 3
	// 2 1h0m0s old
}
