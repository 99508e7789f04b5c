package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleBatch is how many records the hand-rolled log commits at once.
const pebbleBatch = 1000

// pebbleSystem is the log a user could write on raw Pebble with its default
// options: one key per record (partition u32 | offset u64 | record key,
// big-endian, so a partition's records sort by offset), the value holding
// the timestamp (varint Unix ms) and the record's value. Producing commits
// batches of 1,000 Sets; consuming is one iterator per partition.
//
// For the latency run it gets what a real log needs and Pebble does not
// have: a writer goroutine per partition that commits whatever has queued
// (up to 1,000 records) as soon as its previous commit is done, and a
// change channel, closed and replaced on each commit, that readers wait on.
type pebbleSystem struct {
	db    *pebble.DB
	wo    *pebble.WriteOptions
	parts []*pebblePart
	stop  chan struct{}
	wg    sync.WaitGroup
	desc  string
}

type pebblePart struct {
	p int

	mu      sync.Mutex
	queue   [][2][]byte   // records sent and not yet committed
	sent    int64         // records sent
	hwm     int64         // records committed (the next offset)
	changed chan struct{} // closed and replaced on each commit
	started bool          // writer goroutine running
	wake    chan struct{} // cap 1
	err     error
}

func openPebble(dir string, partitions int, durable bool) (*pebbleSystem, error) {
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		return nil, err
	}
	s := &pebbleSystem{db: db, wo: pebble.NoSync, stop: make(chan struct{})}
	if durable {
		s.wo = pebble.Sync
	}
	for p := range partitions {
		s.parts = append(s.parts, &pebblePart{p: p, changed: make(chan struct{}), wake: make(chan struct{}, 1)})
	}
	s.desc = fmt.Sprintf("pebble.Options defaults; a key per record; batches of %d records committed with %s; an iterator per partition to consume",
		pebbleBatch, map[bool]string{false: "pebble.NoSync", true: "pebble.Sync"}[durable])
	return s, nil
}

func (s *pebbleSystem) options() string { return s.desc }

func pebbleKey(dst []byte, p int, off int64, key []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst[:0], uint32(p))
	dst = binary.BigEndian.AppendUint64(dst, uint64(off))
	return append(dst, key...)
}

// commit writes recs at offsets from off on as one batch.
func (s *pebbleSystem) commit(p int, off int64, recs [][2][]byte) error {
	b := s.db.NewBatch()
	defer b.Close()
	ts := time.Now().UnixMilli()
	var k, v []byte
	for i, r := range recs {
		k = pebbleKey(k, p, off+int64(i), r[0])
		v = binary.AppendVarint(v[:0], ts)
		v = append(v, r[1]...)
		if err := b.Set(k, v, nil); err != nil {
			return err
		}
	}
	return b.Commit(s.wo)
}

func (s *pebbleSystem) produce(_ context.Context, src *source, p, n int, stop <-chan struct{}) (int, error) {
	recs := make([][2][]byte, 0, pebbleBatch)
	sent := 0
	for sent < n && !stopped(stop, sent) {
		recs = recs[:0]
		for i := sent; i < n && len(recs) < pebbleBatch; i++ {
			k, v := src.record(p, i)
			recs = append(recs, [2][]byte{k, v})
		}
		if err := s.commit(p, int64(sent), recs); err != nil {
			return sent, err
		}
		sent += len(recs)
	}
	return sent, nil
}

func (s *pebbleSystem) prefix(p int) (lower, upper []byte) {
	return binary.BigEndian.AppendUint32(nil, uint32(p)), binary.BigEndian.AppendUint32(nil, uint32(p+1))
}

// read calls each for partition p's records from offset from on, and
// returns the offset after the last.
func (s *pebbleSystem) read(p int, from int64, each func(key, value []byte)) (int64, error) {
	lower, upper := s.prefix(p)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return from, err
	}
	next := from
	for valid := it.SeekGE(pebbleKey(nil, p, from, nil)); valid; valid = it.Next() {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return next, err
		}
		_, n := binary.Varint(v)
		if n <= 0 || len(k) < 12 {
			it.Close()
			return next, errors.New("pebble: corrupt record")
		}
		each(k[12:], v[n:])
		next = int64(binary.BigEndian.Uint64(k[4:12])) + 1
	}
	return next, it.Close()
}

func (s *pebbleSystem) consume(_ context.Context, p, n int) error {
	got := 0
	if _, err := s.read(p, 0, func(k, v []byte) { touch(k, v); got++ }); err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("pebble: read %d of %d records", got, n)
	}
	return nil
}

func (s *pebbleSystem) tail(ctx context.Context, p int, ready chan<- struct{}, each func([]byte)) error {
	pt := s.parts[p]
	close(ready)
	var next int64
	for {
		pt.mu.Lock()
		hwm, ch := pt.hwm, pt.changed
		pt.mu.Unlock()
		if hwm > next {
			var err error
			if next, err = s.read(p, next, func(_, v []byte) { each(v) }); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		}
	}
}

func (s *pebbleSystem) send(_ context.Context, p int, key, value []byte) error {
	pt := s.parts[p]
	pt.mu.Lock()
	pt.queue = append(pt.queue, [2][]byte{key, value})
	pt.sent++
	if !pt.started {
		pt.started = true
		s.wg.Add(1)
		go s.writer(pt)
	}
	pt.mu.Unlock()
	select {
	case pt.wake <- struct{}{}:
	default:
	}
	return nil
}

// writer commits partition pt's queued records until the system closes.
func (s *pebbleSystem) writer(pt *pebblePart) {
	defer s.wg.Done()
	for {
		pt.mu.Lock()
		n := min(len(pt.queue), pebbleBatch)
		recs := append([][2][]byte(nil), pt.queue[:n]...)
		pt.queue = append(pt.queue[:0], pt.queue[n:]...)
		off := pt.hwm
		pt.mu.Unlock()
		if n == 0 {
			select {
			case <-pt.wake:
				continue
			case <-s.stop:
				return
			}
		}
		err := s.commit(pt.p, off, recs)
		pt.mu.Lock()
		if err != nil && pt.err == nil {
			pt.err = err
		}
		pt.hwm += int64(n)
		close(pt.changed)
		pt.changed = make(chan struct{})
		pt.mu.Unlock()
	}
}

func (s *pebbleSystem) flush(ctx context.Context) error {
	for _, pt := range s.parts {
		for {
			pt.mu.Lock()
			done, ch, err := pt.hwm == pt.sent, pt.changed, pt.err
			pt.mu.Unlock()
			if err != nil {
				return err
			}
			if done {
				break
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

func (s *pebbleSystem) close() error {
	close(s.stop)
	s.wg.Wait()
	// As Cairn's Close does at its no-sync levels: a clean close is durable.
	return errors.Join(s.db.Flush(), s.db.Close())
}
