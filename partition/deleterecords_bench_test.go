package partition

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkReadAfterDeleteRecords reads and looks up by time in a
// partition whose log start was moved one batch at a time by n
// DeleteRecords calls, as a consumer that deletes what it has processed
// does. Each call's range deletions must not pile up over the same keys:
// every later read would walk all of them.
func BenchmarkReadAfterDeleteRecords(b *testing.B) {
	const n = 2000
	db, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem(), Logger: quiet{}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var p *Partition
	p, err = Open(Options{DB: db, Topic: "t", TopicID: 1, Partition: 0, Config: Config{MaxMessageBytes: 1 << 20}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for i := range n + 10 {
		if _, err := p.Append(ctx, []log.Record{{Value: []byte("v"), Timestamp: time.UnixMilli(int64(1000 + i))}}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		if err := p.DeleteRecords(ctx, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, ok, err := p.OffsetForTime(time.UnixMilli(1000 + n + 5)); err != nil || !ok {
			b.Fatal(ok, err)
		}
		if recs, err := p.ReadRecords(int64(n+5), 1); err != nil || len(recs) == 0 {
			b.Fatal(err)
		}
	}
}
