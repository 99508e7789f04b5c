package producer

import (
	"context"
	"sync"

	"github.com/cairnlog/cairn/partition"
)

// buffer bounds the bytes and records a producer holds. Waiters block on
// a channel closed and replaced at every release.
type buffer struct {
	maxBytes, maxRecords int
	failFast             bool

	mu      sync.Mutex
	bytes   int
	records int
	closed  bool
	changed chan struct{}
}

func (b *buffer) init(maxBytes, maxRecords int, failFast bool) {
	b.maxBytes, b.maxRecords, b.failFast = maxBytes, maxRecords, failFast
	b.changed = make(chan struct{})
}

// acquire reserves room for one record of size bytes. A record larger than
// the whole buffer is let in alone, so it cannot wait forever.
func (b *buffer) acquire(ctx context.Context, size int) error {
	for {
		b.mu.Lock()
		switch {
		case b.closed:
			b.mu.Unlock()
			return partition.ErrClosed
		case b.records == 0 || b.records < b.maxRecords && b.bytes+size <= b.maxBytes:
			b.records++
			b.bytes += size
			b.mu.Unlock()
			return nil
		case b.failFast:
			b.mu.Unlock()
			return ErrBufferFull
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *buffer) release(size, records int) {
	b.mu.Lock()
	b.bytes -= size
	b.records -= records
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// waitEmpty blocks until nothing is buffered or ctx is done.
func (b *buffer) waitEmpty(ctx context.Context) error {
	for {
		b.mu.Lock()
		n, ch := b.records, b.changed
		b.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close makes acquire fail with ErrClosed and wakes its waiters.
func (b *buffer) close() {
	b.mu.Lock()
	b.closed = true
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}
