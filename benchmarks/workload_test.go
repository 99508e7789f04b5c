package benchmarks

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"math/rand/v2"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2"
)

// The workload of the issue: 16-byte keys, 100-byte values, appended in
// batches of 1,000 records.
const (
	keySize   = 16
	valueSize = 100
	batchSize = 1000
	topicName = "bench"
)

// partitionCounts are the cases every benchmark covers. With more than one
// partition, each partition has its own goroutine in both systems.
var partitionCounts = []int{1, 8}

var peerDefaults = flag.Bool("peer-defaults", false,
	"give the raw Pebble peer Pebble's default options instead of the ones Cairn uses")

// makeRecords returns one batch of records per partition, with random
// (incompressible) keys and values from a fixed seed. Every append of a
// partition reuses its batch: Cairn copies what it is given and the peer's
// keys differ by offset, so reuse changes nothing either system does.
func makeRecords(partitions int) [][]cairn.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []byte {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		return buf
	}
	out := make([][]cairn.Record, partitions)
	for p := range out {
		recs := make([]cairn.Record, batchSize)
		for i := range recs {
			recs[i] = cairn.Record{Key: fill(keySize), Value: fill(valueSize)}
		}
		out[p] = recs
	}
	return out
}

// Peer key layout: partition u32 | offset u64 | record key, all big-endian,
// so a partition's records sort by offset, as a naive per-record design
// would lay them out.
const peerKeyPrefix = 4 + 8

func peerPartitionPrefix(p int) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(p))
}

func peerKey(dst []byte, p int, off int64, key []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst[:0], uint32(p))
	dst = binary.BigEndian.AppendUint64(dst, uint64(off))
	return append(dst, key...)
}

// peerAppend writes recs to partition p of the peer as one Pebble batch of
// one Set per record, starting at offset off, and commits it with wo. The
// value stores what a record has besides its key, as a per-record design
// must: the timestamp (a varint of Unix ms) and the value. (The workload
// has no headers.)
func peerAppend(db *pebble.DB, p int, off int64, recs []cairn.Record, wo *pebble.WriteOptions) error {
	wb := db.NewBatch()
	defer wb.Close()
	var key, val []byte
	for i := range recs {
		key = peerKey(key, p, off+int64(i), recs[i].Key)
		val = binary.AppendVarint(val[:0], recs[i].Timestamp.UnixMilli())
		val = append(val, recs[i].Value...)
		if err := wb.Set(key, val, nil); err != nil {
			return err
		}
	}
	return wb.Commit(wo)
}

// peerDecode turns a peer key and value into a Record a caller can keep,
// the output Broker.Read gives: Pebble's iterator reuses its buffers, so
// the bytes are copied (into arena, one allocation per read, not per
// record).
func peerDecode(arena []byte, p int, key, val []byte) ([]byte, cairn.Record, error) {
	ts, n := binary.Varint(val)
	if n <= 0 {
		return arena, cairn.Record{}, errors.New("peer: bad value")
	}
	start := len(arena)
	arena = append(arena, key[peerKeyPrefix:]...)
	arena = append(arena, val[n:]...)
	k := len(key) - peerKeyPrefix
	return arena, cairn.Record{
		Topic: topicName, Partition: int32(p),
		Offset:    int64(binary.BigEndian.Uint64(key[4:peerKeyPrefix])),
		Key:       arena[start : start+k : start+k],
		Value:     arena[start+k:],
		Timestamp: time.UnixMilli(ts),
	}, nil
}

// stores are the two systems under test, in subdirectories of one
// temporary directory on the real disk.
type stores struct {
	dir    string
	d      cairn.Durability
	broker *cairn.Broker
	peer   *pebble.DB
	// peerOpts are the Pebble options Cairn chose, captured through
	// cairn.Options.Pebble, unless -peer-defaults is set.
	peerOpts *pebble.Options
	// Background work of each store, for phase.time.
	cairnBG, peerBG activity
}

// openStores opens a Cairn broker with a topic of the given partitions and
// a raw Pebble peer, both closed when b ends.
func openStores(b *testing.B, d cairn.Durability, partitions int) *stores {
	s := &stores{dir: b.TempDir(), d: d}
	if err := s.open(); err != nil {
		b.Fatal(err)
	}
	if err := s.broker.CreateTopic(context.Background(), topicName, partitions, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := s.close(); err != nil {
			b.Error(err)
		}
	})
	return s
}

func (s *stores) open() error {
	var captured *pebble.Options
	opts := &cairn.Options{Durability: s.d, Pebble: func(o *pebble.Options) {
		captured = o.Clone()
		o.AddEventListener(s.cairnBG.listener())
	}}
	br, err := cairn.Open(filepath.Join(s.dir, "cairn"), opts)
	if err != nil {
		return err
	}
	if s.peerOpts == nil {
		s.peerOpts = captured
		if *peerDefaults {
			s.peerOpts = &pebble.Options{Logger: quietLogger{}}
		}
	}
	po := s.peerOpts.Clone()
	po.AddEventListener(s.peerBG.listener())
	db, err := pebble.Open(filepath.Join(s.dir, "pebble"), po)
	if err != nil {
		br.Close()
		return err
	}
	s.broker, s.peer = br, db
	return nil
}

func (s *stores) close() error {
	if s.broker == nil {
		return nil
	}
	err := s.broker.Close()
	if perr := s.peer.Close(); err == nil {
		err = perr
	}
	s.broker, s.peer = nil, nil
	return err
}

// reopen closes and reopens both stores, which flushes their memtables, so
// what was written is read back from sstables, and waits until neither
// has flushes or compactions left to run.
func (s *stores) reopen() error {
	if err := s.close(); err != nil {
		return err
	}
	if err := s.open(); err != nil {
		return err
	}
	if _, err := s.cairnBG.quiesce(); err != nil {
		return err
	}
	_, err := s.peerBG.quiesce()
	return err
}

// activity counts a store's flushes and compactions in flight, through a
// Pebble EventListener.
type activity struct {
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced at every event
	inflight int
	events   uint64
}

func (a *activity) listener() pebble.EventListener {
	return pebble.EventListener{
		FlushBegin:      func(pebble.FlushInfo) { a.add(1) },
		FlushEnd:        func(pebble.FlushInfo) { a.add(-1) },
		CompactionBegin: func(pebble.CompactionInfo) { a.add(1) },
		CompactionEnd:   func(pebble.CompactionInfo) { a.add(-1) },
	}
}

func (a *activity) add(d int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight += d
	a.events++
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
}

// settle is how long a store must stay idle to count as quiescent: Pebble
// starts the compaction a flush or compaction makes due on a new goroutine,
// so an idle instant can come between the two.
const settle = 5 * time.Millisecond

// quiesce waits until the store has no flush or compaction in flight and
// starts none for settle, and returns when it went idle.
func (a *activity) quiesce() (time.Time, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		a.mu.Lock()
		if a.inflight > 0 {
			if a.changed == nil {
				a.changed = make(chan struct{})
			}
			ch := a.changed
			a.mu.Unlock()
			select {
			case <-ch:
			case <-time.After(time.Until(deadline)):
				return time.Time{}, errors.New("benchmarks: store still busy after 5 minutes")
			}
			continue
		}
		seen := a.events
		a.mu.Unlock()
		idle := time.Now()
		time.Sleep(settle)
		a.mu.Lock()
		quiet := a.inflight == 0 && a.events == seen
		a.mu.Unlock()
		if quiet {
			return idle, nil
		}
	}
}

// quietLogger drops Pebble's informational logging in the peer.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)         {}
func (quietLogger) Errorf(f string, args ...any) { pebble.DefaultLogger.Errorf(f, args...) }
func (quietLogger) Fatalf(f string, args ...any) { pebble.DefaultLogger.Fatalf(f, args...) }

// each runs f for every partition: inline for one partition, else on one
// goroutine per partition, and returns the first error.
func each(partitions int, f func(p int) error) error {
	if partitions == 1 {
		return f(0)
	}
	errs := make([]error, partitions)
	var wg sync.WaitGroup
	for p := range partitions {
		wg.Go(func() { errs[p] = f(p) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// phase accumulates the time and heap allocations of one system's share of
// a benchmark. Allocations are process-wide, so they include the store's
// own background work.
type phase struct {
	store  string // pprof label value: "cairn" or "pebble"
	dur    time.Duration
	allocs uint64
}

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}

func heapAllocs() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

// time runs f and then waits for the flushes and compactions of the store
// it writes to, bg, to finish; all of it is charged to the phase, up to the
// moment the store went idle. That charges each store for its own
// background work and keeps it out of the other store's phase. In CPU
// profiles f runs labelled store=<ph.store> (go tool pprof -tagfocus
// store=cairn); Pebble's background goroutines do not inherit the label.
func (ph *phase) time(bg *activity, f func() error) error {
	var err error
	a := heapAllocs()
	start := time.Now()
	pprof.Do(context.Background(), pprof.Labels("store", ph.store), func(context.Context) { err = f() })
	if err != nil {
		return err
	}
	idle, err := bg.quiesce()
	ph.dur += idle.Sub(start)
	ph.allocs += heapAllocs() - a
	return err
}

// report publishes both systems' rates, Cairn's as records/s, and the
// ratio Cairn/peer as x-vs-pebble-per-record.
func report(b *testing.B, records int64, c, peer phase) {
	cr := float64(records) / c.dur.Seconds()
	pr := float64(records) / peer.dur.Seconds()
	b.ReportMetric(cr, "records/s")
	b.ReportMetric(pr, "pebble-records/s")
	b.ReportMetric(cr/pr, "x-vs-pebble-per-record")
	b.ReportMetric(float64(c.allocs)/float64(records), "allocs/record")
	b.ReportMetric(float64(peer.allocs)/float64(records), "pebble-allocs/record")
}
