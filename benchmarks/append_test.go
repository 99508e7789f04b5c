package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2"
)

// durabilities pairs each Cairn durability with the peer's equivalent.
var durabilities = []struct {
	name  string
	cairn cairn.Durability
	peer  *pebble.WriteOptions
}{
	{"no-sync", cairn.NoSync, pebble.NoSync},
	{"sync-always", cairn.SyncAlways, pebble.Sync},
}

// blockBatches is how many batches of 1,000 records one benchmark iteration
// appends to each system, split evenly over the partitions: 64 MB of
// Cairn batches, one Cairn memtable, so blocks include flushes and
// compactions in proportion.
const blockBatches = 512

// BenchmarkAppend measures appends of batches of 1,000 records (16-byte
// keys, 100-byte values) to one or eight partitions, through Cairn's
// Broker.Append and through raw Pebble writing one key per record (one
// pebble.Batch of 1,000 Sets per commit), under no-sync and
// sync-every-commit durability.
//
// Each iteration appends a block of 512 batches to Cairn and the same
// records to the peer, with one goroutine per partition in both; the order
// of the two alternates between iterations. A system's phase is timed
// from its first append until the flushes and compactions its appends
// started have finished, so each system pays for its own background work
// and none of it spills into the other's phase. Alternating blocks
// exposes both systems to the same noise of a shared machine. Reported:
// records/s (Cairn), pebble-records/s and their ratio
// x-vs-pebble-per-record; allocs/record and pebble-allocs/record split
// the allocations by phase. ns/op, B/op and allocs/op cover a whole
// iteration, both systems. Use -benchtime Nx for N blocks.
//
// The peer uses the Pebble options Cairn opens its store with, captured
// through cairn.Options.Pebble, so only the data layout differs; the flag
// -peer-defaults gives it Pebble's defaults instead. Both stores live on the
// real disk under b.TempDir(). One thing still crosses phases: the kernel
// writes back a phase's dirty pages while the next one runs, which slows
// whichever phase follows the one that wrote more.
func BenchmarkAppend(b *testing.B) {
	for _, d := range durabilities {
		for _, n := range partitionCounts {
			b.Run(fmt.Sprintf("%s/partitions=%d", d.name, n), func(b *testing.B) {
				benchAppend(b, d.cairn, d.peer, n)
			})
		}
	}
}

func benchAppend(b *testing.B, d cairn.Durability, wo *pebble.WriteOptions, partitions int) {
	s := openStores(b, d, partitions)
	recs := makeRecords(partitions)
	ctx := context.Background()
	perPartition := blockBatches / partitions
	cairnBlock := func() error {
		return each(partitions, func(p int) error {
			for range perPartition {
				if _, err := s.broker.Append(ctx, topicName, int32(p), recs[p]...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	peerNext := make([]int64, partitions)
	peerBlock := func() error {
		return each(partitions, func(p int) error {
			for range perPartition {
				if err := peerAppend(s.peer, p, peerNext[p], recs[p], wo); err != nil {
					return err
				}
				peerNext[p] += batchSize
			}
			return nil
		})
	}
	c, peer := phase{store: "cairn"}, phase{store: "pebble"}
	var blocks int64
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if blocks%2 == 0 {
			err = errors.Join(c.time(&s.cairnBG, cairnBlock), peer.time(&s.peerBG, peerBlock))
		} else {
			err = errors.Join(peer.time(&s.peerBG, peerBlock), c.time(&s.cairnBG, cairnBlock))
		}
		if err != nil {
			b.Fatal(err)
		}
		blocks++
	}
	report(b, blocks*int64(perPartition*partitions)*batchSize, c, peer)
}
