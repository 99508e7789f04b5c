package partition

import (
	"context"
	"fmt"
	"sync"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

// Append encodes recs as one batch (compressed with the configured codec)
// and appends it. It returns the offset of the first record. The batch is
// all-or-nothing: on error nothing was appended.
func (p *Partition) Append(ctx context.Context, recs []log.Record) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cfg := p.cfg.Load()
	var keys [][]byte
	if cfg.Compacted {
		var err error
		if keys, err = recordKeys(recs); err != nil {
			return 0, p.wrap(-1, err)
		}
	}
	bl := builders.Get().(*log.Builder)
	defer putBuilder(bl)
	b, err := bl.Build(recs, cfg.Codec, nil, p.now())
	if err != nil {
		return 0, p.wrap(-1, err)
	}
	return p.append(b, keys) // copies b into the Pebble batch: bl is free after
}

// builders keeps the encoders of Append, so that appending records does
// not allocate (and zero) a batch-sized buffer each time.
var builders = sync.Pool{New: func() any { return new(log.Builder) }}

// maxPooledBuilder keeps builders of outsized batches out of the pool.
const maxPooledBuilder = 4 << 20

func putBuilder(bl *log.Builder) {
	if bl.Size() <= maxPooledBuilder {
		builders.Put(bl)
	}
}

// AppendBatch validates a RecordBatch v2 built elsewhere (a producer, a
// Kafka client), then appends it with its base offset stamped. raw is not
// modified. It returns the offset of the batch's first record.
func (p *Partition) AppendBatch(ctx context.Context, raw []byte) (int64, error) {
	return await(p.AppendBatchAsync(ctx, raw))
}

// AppendBatchAsync is AppendBatch split in two: it returns once the batch
// has its offsets (appends started one after another on a partition are
// ordered as started), and wait returns once the batch is durable and
// visible, with the append's final error. The caller must call wait
// exactly once, soon: until then the partition cannot close. Without sync
// (the broker's NoSync and SyncInterval) the batch is visible on return,
// wait returns nil at once and holds nothing, and calling it is optional.
// It lets a server pipeline requests: start appends in request order,
// wait in the background.
func (p *Partition) AppendBatchAsync(ctx context.Context, raw []byte) (base int64, wait func() error, err error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	b, err := log.Parse(raw)
	if err != nil {
		return 0, nil, p.wrap(-1, err)
	}
	return p.AppendLogBatchAsync(ctx, b)
}

// AppendLogBatch appends b, a batch from log.Parse or a log.Builder, as
// AppendBatch does. A parsed batch's records are validated first; a built
// batch's were checked as they were added, so an in-process producer does
// not pay for decoding its own batch again. b is not modified.
func (p *Partition) AppendLogBatch(ctx context.Context, b log.Batch) (int64, error) {
	return await(p.AppendLogBatchAsync(ctx, b))
}

// AppendLogBatchAsync is AppendLogBatch in two steps, as
// AppendBatchAsync.
func (p *Partition) AppendLogBatchAsync(ctx context.Context, b log.Batch) (base int64, wait func() error, err error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	var keys [][]byte
	switch {
	case b.Len() == 0:
		err = log.ErrEmptyBatch
	case p.cfg.Load().Compacted:
		var recs []log.Record
		if b, err = b.Normalize(); err == nil {
			recs, err = b.Records(nil)
		}
		if err == nil {
			keys, err = recordKeys(recs)
		}
	default:
		// Normalized: a CreateTime batch is stored with its records'
		// max timestamp, as Kafka stores it (see log.Batch.Normalize).
		b, err = b.Normalize()
	}
	if err != nil {
		return 0, nil, p.wrap(-1, err)
	}
	return p.appendAsync(b, keys)
}

// await finishes an append started by one of the Async calls: it waits
// for it to be durable and returns its base offset.
func await(base int64, wait func() error, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	if err := wait(); err != nil {
		return 0, err
	}
	return base, nil
}

// noWait is the wait of an append without sync: it is visible on return.
func noWait() error { return nil }

// maxRetainedBatch lets Pebble's batch pool keep the buffer of a batch
// up to this size. Its default (1 MB) is just below a full producer or
// Kafka client batch (1 MB of records plus the key), so each append of
// a full batch allocated and dropped a buffer of a megabyte or more.
const maxRetainedBatch = 4 << 20

// append stores b at the log end and waits until it is durable.
func (p *Partition) append(b log.Batch, keys [][]byte) (int64, error) {
	return await(p.appendAsync(b, keys))
}

// appendAsync stores b at the log end. Offsets are assigned under mu; with
// Sync, the WAL fsync is waited for outside mu (in wait), so appends to one
// partition share a group commit, and the high watermark moves only once
// the batch is durable. keys, if not nil, go to the key index (record i at
// base+i). On success the caller must call wait once: with sync it holds
// the partition open until then.
func (p *Partition) appendAsync(b log.Batch, keys [][]byte) (int64, func() error, error) {
	cfg := p.cfg.Load()
	if b.Len() > cfg.MaxMessageBytes {
		return 0, nil, p.wrap(-1, fmt.Errorf("%w: batch of %d bytes, max.message.bytes is %d",
			ErrMessageTooLarge, b.Len(), cfg.MaxMessageBytes))
	}
	if err := p.enter(); err != nil {
		return 0, nil, err
	}
	wb := p.db.NewBatch(pebble.WithMaxRetainedSizeBytes(maxRetainedBatch))
	fail := func(err error) (int64, func() error, error) {
		wb.Close()
		p.life.RUnlock()
		return 0, nil, err
	}
	p.mu.Lock()
	if p.mu.err != nil {
		err := p.mu.err
		p.mu.Unlock()
		return fail(err)
	}
	pr := b.Producer()
	if pr.ID >= 0 {
		dup, err := p.checkSequence(pr, b.NumRecords())
		if err != nil || dup >= 0 {
			p.mu.Unlock()
			if err != nil {
				return fail(p.wrap(-1, err))
			}
			// A retry of a stored batch is not appended twice; it is
			// acknowledged once the original is. Without sync the
			// original was published when it was appended.
			wb.Close()
			if !p.sync {
				p.life.RUnlock()
				return dup, noWait, nil
			}
			last := dup + int64(b.NumRecords()) - 1
			return dup, func() error {
				defer p.life.RUnlock()
				return p.waitPublished(last)
			}, nil
		}
	}
	if keys == nil && p.cfg.Load().Compacted {
		// The topic became compacted since the caller read the config:
		// the batch goes in the key index all the same.
		recs, err := b.ValidRecords(nil)
		if err == nil {
			keys, err = recordKeys(recs)
		}
		if err != nil {
			p.mu.Unlock()
			return fail(p.wrap(-1, err))
		}
	}
	base := p.mu.next
	last := base + int64(b.NumRecords()) - 1
	var key [log.DataKeyLen]byte
	op := wb.SetDeferred(log.DataKeyLen, b.Len())
	copy(op.Key, log.DataKey(key[:0], p.id, uint32(p.index), last))
	stored := b.CopyTo(op.Value)
	stored.SetBaseOffset(base)
	if cfg.LogAppendTime {
		stored.SetLogAppendTime(p.now())
	} else if err := stored.SetCreateTime(); err != nil {
		// A client's batch marked with the log append time, for a
		// CreateTime topic: its records keep their own timestamps.
		p.mu.Unlock()
		return fail(p.wrap(-1, err))
	}
	op.Finish()
	maxTS := stored.MaxTimestamp().UnixMilli()
	err := p.indexTime(wb, maxTS, last)
	var st producerState
	if err == nil && pr.ID >= 0 {
		st, err = p.recordSequence(wb, pr, b.NumRecords(), base)
	}
	if err == nil && keys != nil {
		err = p.indexKeys(wb, keys, base)
	}
	if err != nil {
		p.mu.Unlock()
		return fail(p.wrap(base, err))
	}
	if p.sync {
		err = p.db.ApplyNoSyncWait(wb, pebble.Sync)
	} else {
		err = p.db.Apply(wb, pebble.NoSync)
	}
	if err != nil {
		p.mu.Unlock()
		return fail(p.wrap(base, err))
	}
	p.mu.next = last + 1
	p.mu.maxTime = max(p.mu.maxTime, maxTS)
	p.mu.sizes.add(last, stored.Len())
	p.size.Store(p.mu.sizes.total)
	p.tail.Store(base)
	if pr.ID >= 0 {
		p.mu.producers[pr.ID] = st
		p.expireProducers(st.lastUsed)
	}
	if !p.sync {
		p.publish(last + 1)
		p.mu.Unlock()
		wb.Close()
		p.life.RUnlock()
		return base, noWait, nil
	}
	p.mu.Unlock()
	return base, func() error {
		defer p.life.RUnlock()
		defer wb.Close()
		if err := wb.SyncWait(); err != nil {
			// The batch is applied but maybe not durable; offsets after
			// it cannot be trusted, so the partition refuses appends.
			err = p.wrap(base, err)
			p.mu.Lock()
			p.mu.err = err
			p.mu.Unlock()
			p.broadcast() // a retry waiting in waitPublished learns of it
			return err
		}
		p.publish(last + 1)
		return nil
	}, nil
}

// waitPublished blocks until offset is below the high watermark or the
// partition has failed. The append that owns offset is already applied, so
// this waits at most for its fsync.
func (p *Partition) waitPublished(offset int64) error {
	for {
		ch := p.changed()
		if p.hwm.Load() > offset {
			return nil
		}
		p.mu.Lock()
		err := p.mu.err
		p.mu.Unlock()
		if err != nil {
			return err
		}
		<-ch
	}
}

// DeleteRecords moves the log start offset up to before, deleting every
// batch that lies wholly below it with one range deletion. Offsets between
// the new log start and the end of its batch stay stored but unreadable.
// The deletion starts at the old log start, below which every batch is
// deleted already: deletions over the same keys pile up and slow every
// read (see dropTimeEntries).
func (p *Partition) DeleteRecords(ctx context.Context, before int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer p.life.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if hwm := p.hwm.Load(); before < 0 || before > hwm {
		return &OffsetError{Topic: p.topic, Partition: p.index, Offset: before,
			LogStart: p.logStart.Load(), HighWatermark: hwm}
	}
	if before <= p.logStart.Load() {
		return nil
	}
	wb := p.db.NewBatch()
	defer wb.Close()
	start := log.DataKey(nil, p.id, uint32(p.index), p.logStart.Load())
	end := log.DataKey(nil, p.id, uint32(p.index), before) // keys hold last offsets
	if err := wb.DeleteRange(start, end, nil); err != nil {
		return p.wrap(before, err)
	}
	var state [8]byte
	putInt64(state[:], before)
	if err := wb.Set(p.stateKey(), state[:], nil); err != nil {
		return p.wrap(before, err)
	}
	// Bounded work, whatever the number of records deleted (retention.go).
	_, partial, err := p.bytesBelow(before)
	var timeDropped int64
	if err == nil {
		timeDropped, err = p.dropTimeEntries(wb, before)
	}
	if err != nil {
		return err
	}
	// The log start moves before the batches go, as in Kafka: a read
	// that sees them gone (its iterator opened after Apply) then sees the
	// new log start when it looks again (read), and fails with an
	// *OffsetError rather than answering with the batches after the
	// range as if they followed its offset.
	old := p.logStart.Load()
	p.logStart.Store(before)
	if err := p.db.Apply(wb, p.writeOpts()); err != nil {
		p.logStart.Store(old)
		return p.wrap(before, err)
	}
	p.mu.timeDropped = timeDropped
	p.mu.sizes.dropBelow(before, partial)
	p.size.Store(p.mu.sizes.total)
	return nil
}

func (p *Partition) writeOpts() *pebble.WriteOptions {
	if p.sync {
		return pebble.Sync
	}
	return pebble.NoSync
}
