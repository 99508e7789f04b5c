package cairn

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
)

var nextProducerKey = []byte{log.PrefixMeta, 'p', 'r', 'o', 'd', 'u', 'c', 'e', 'r'}

// InitProducerID allocates a producer id for an idempotent producer, with
// epoch 0. Ids are never reused by a broker, so a new producer can never be
// mistaken for an old one's retries.
func (b *Broker) InitProducerID(ctx context.Context) (id int64, epoch int16, err error) {
	if err := b.check(ctx); err != nil {
		return 0, 0, err
	}
	b.pidMu.Lock()
	defer b.pidMu.Unlock()
	if b.pidClosed { // Close sets it under pidMu before closing Pebble
		return 0, 0, ErrClosed
	}
	next := int64(0)
	v, closer, err := b.db.Get(nextProducerKey)
	switch {
	case err == nil:
		if len(v) == 8 {
			next = int64(binary.BigEndian.Uint64(v))
		}
		closer.Close()
	case err != pebble.ErrNotFound:
		return 0, 0, err
	}
	if err := b.db.Set(nextProducerKey, binary.BigEndian.AppendUint64(nil, uint64(next+1)), pebble.Sync); err != nil {
		return 0, 0, err
	}
	return next, 0, nil
}

// PartitionCount returns how many partitions a topic has.
func (b *Broker) PartitionCount(topicName string) (int, error) {
	if b.closed.Load() {
		return 0, ErrClosed
	}
	t, err := b.topics.Get(topicName)
	if err != nil {
		return 0, err
	}
	return len(t.Partitions), nil
}

// TopicID returns the id of a topic's current incarnation: a topic
// deleted and created again under its name has a new one.
func (b *Broker) TopicID(topicName string) (uint32, error) {
	if b.closed.Load() {
		return 0, ErrClosed
	}
	t, err := b.topics.Get(topicName)
	if err != nil {
		return 0, err
	}
	return t.ID, nil
}

// OffsetForTime returns the offset of the first record of a partition whose
// timestamp is at or after t, using the partition's time index. ok is
// false if there is none; offset is then the high watermark.
func (b *Broker) OffsetForTime(ctx context.Context, topicName string, p int32, t time.Time) (offset int64, ok bool, err error) {
	part, err := b.partitionFor(ctx, topicName, p)
	if err != nil {
		return 0, false, err
	}
	return part.OffsetForTime(t)
}
