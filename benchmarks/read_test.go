package benchmarks

import (
	"context"
	"fmt"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2"
)

const (
	// readBatches is how many batches of 1,000 records each partition
	// holds for BenchmarkRead.
	readBatches = 128
	// fetchBytes bounds one Broker.Read, as Kafka's default
	// max.partition.fetch.bytes.
	fetchBytes = 1 << 20
)

// BenchmarkRead measures reading whole partitions back: one or eight
// partitions of 128,000 records (16-byte keys, 100-byte values), written
// untimed in batches of 1,000 to Cairn and to raw Pebble with one key per
// record, then flushed to sstables by closing and reopening both stores,
// which are left to finish their compactions before the clock starts.
//
// Each iteration reads every partition from offset 0 to its end in both
// systems, one after the other, and times each. The peer reads as
// Broker.Read does: 1 MiB at a time, one iterator per read, each record
// decoded (timestamp included) into a []Record whose bytes are copied out
// of the iterator, since a caller must be able to keep them. Cairn reads through one of two APIs,
// in sub-benchmarks:
//
//   - api=read: Broker.Read, 1 MiB per call (Kafka's default
//     max.partition.fetch.bytes), which returns a fresh []Record;
//   - api=fetch: Broker.Fetch, 1 MiB per call, and Batch.Records decoding
//     into one reused []Record, the batch API for speed.
//
// Every record is decoded and its key and value touched in both systems.
// With eight partitions each has its own reader goroutine in both. The
// metrics are those of BenchmarkAppend: records/s (Cairn),
// pebble-records/s and x-vs-pebble-per-record. The peer uses Cairn's
// Pebble options, block cache size included, unless -peer-defaults is set.
func BenchmarkRead(b *testing.B) {
	for _, api := range []string{"read", "fetch"} {
		for _, n := range partitionCounts {
			b.Run(fmt.Sprintf("api=%s/partitions=%d", api, n), func(b *testing.B) { benchRead(b, api, n) })
		}
	}
}

func benchRead(b *testing.B, api string, partitions int) {
	s := openStores(b, cairn.NoSync, partitions)
	prefill(b, s, partitions)
	const perPartition = readBatches * batchSize
	readAll := cairnReadAll
	if api == "fetch" {
		readAll = cairnFetchAll
	}
	sums := make([]int, partitions) // keeps the touches alive
	c, peer := phase{store: "cairn"}, phase{store: "pebble"}
	var rounds int64
	b.ReportAllocs()
	for b.Loop() {
		err := c.time(&s.cairnBG, func() error {
			return each(partitions, func(p int) (err error) {
				sums[p], err = readAll(s, p, perPartition)
				return err
			})
		})
		if err != nil {
			b.Fatal(err)
		}
		err = peer.time(&s.peerBG, func() error {
			return each(partitions, func(p int) (err error) {
				sums[p], err = peerReadAll(s.peer, p, perPartition)
				return err
			})
		})
		if err != nil {
			b.Fatal(err)
		}
		rounds++
	}
	report(b, rounds*int64(partitions)*perPartition, c, peer)
}

// prefill writes readBatches batches to every partition of both stores and
// reopens them, so reads come from sstables.
func prefill(b *testing.B, s *stores, partitions int) {
	recs := makeRecords(partitions)
	ctx := context.Background()
	err := each(partitions, func(p int) error {
		for i := range readBatches {
			if _, err := s.broker.Append(ctx, topicName, int32(p), recs[p]...); err != nil {
				return err
			}
			if err := peerAppend(s.peer, p, int64(i)*batchSize, recs[p], pebble.NoSync); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = s.reopen()
	}
	if err != nil {
		b.Fatal(err)
	}
}

// touch reads a record's key and value.
func touch(key, value []byte) int {
	return len(key) + len(value) + int(key[0]) + int(value[len(value)-1])
}

// cairnReadAll reads partition p from offset 0 to its end and checks it
// holds want records.
func cairnReadAll(s *stores, p, want int) (int, error) {
	ctx := context.Background()
	sum, n := 0, 0
	for n < want {
		recs, err := s.broker.Read(ctx, topicName, int32(p), int64(n), fetchBytes)
		if err != nil {
			return sum, err
		}
		if len(recs) == 0 {
			break
		}
		for i := range recs {
			sum += touch(recs[i].Key, recs[i].Value)
		}
		n = int(recs[len(recs)-1].Offset) + 1
	}
	if n != want {
		return sum, fmt.Errorf("cairn partition %d: read %d records, want %d", p, n, want)
	}
	return sum, nil
}

// cairnFetchAll reads partition p from offset 0 to its end through
// Broker.Fetch, decoding each batch into one reused slice, and checks it
// holds want records.
func cairnFetchAll(s *stores, p, want int) (int, error) {
	ctx := context.Background()
	sum, n := 0, 0
	var recs []cairn.Record
	for n < want {
		f, err := s.broker.Fetch(ctx, topicName, int32(p), int64(n), fetchBytes)
		if err != nil {
			return sum, err
		}
		if len(f.Batches) == 0 {
			break
		}
		for _, batch := range f.Batches {
			if recs, err = batch.Records(recs[:0]); err != nil {
				return sum, err
			}
			for i := range recs {
				sum += touch(recs[i].Key, recs[i].Value)
			}
		}
		n = int(recs[len(recs)-1].Offset) + 1
	}
	if n != want {
		return sum, fmt.Errorf("cairn partition %d: fetched %d records, want %d", p, n, want)
	}
	return sum, nil
}

// peerReadAll reads partition p of the peer from offset 0 to its end in
// reads of about fetchBytes, as Broker.Read does: each read is one
// iterator that decodes every record into a []Record the caller can keep.
// It checks the partition holds want records.
func peerReadAll(db *pebble.DB, p, want int) (int, error) {
	sum, n := 0, 0
	for n < want {
		recs, err := peerRead(db, p, int64(n), fetchBytes)
		if err != nil {
			return sum, err
		}
		if len(recs) == 0 {
			break
		}
		for i := range recs {
			sum += touch(recs[i].Key, recs[i].Value)
		}
		n = int(recs[len(recs)-1].Offset) + 1
	}
	if n != want {
		return sum, fmt.Errorf("pebble partition %d: read %d records, want %d", p, n, want)
	}
	return sum, nil
}

// peerRead returns the records of partition p from offset on, up to about
// maxBytes of keys and values.
func peerRead(db *pebble.DB, p int, offset int64, maxBytes int) ([]cairn.Record, error) {
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: peerKey(nil, p, offset, nil),
		UpperBound: peerPartitionPrefix(p + 1),
	})
	if err != nil {
		return nil, err
	}
	arena := make([]byte, 0, maxBytes+keySize+valueSize+16)
	recs := make([]cairn.Record, 0, maxBytes/(keySize+valueSize))
	for ok := it.First(); ok && len(arena) < maxBytes; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, err
		}
		var r cairn.Record
		if arena, r, err = peerDecode(arena, p, it.Key(), v); err != nil {
			it.Close()
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, it.Close()
}
