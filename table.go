package cairn

import (
	"context"
	"fmt"

	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

// Errors of compacted topics, usable with errors.Is.
var (
	// ErrKeyRequired reports a record without a key appended to a topic
	// whose cleanup.policy includes compact; the whole batch is refused.
	ErrKeyRequired = partition.ErrKeyRequired
	// ErrKeyNotFound reports a Get of a key with no record, or whose
	// latest record is a tombstone.
	ErrKeyNotFound = partition.ErrKeyNotFound
)

// Get returns the latest record of key in a compacted topic, reading it as
// a table: one lookup in the partition's key index (kept in the same
// Pebble batch as each append, and by the cleaner) and one batch read,
// never a replay of the log. It returns ErrKeyNotFound if the key has no
// record or its latest record is a tombstone (nil value).
//
// The key is looked up in the partition Kafka's default partitioner (and
// the producer package) gives it, murmur2(key) mod the partition count;
// records appended by hand to another partition are not found there
// (and CreatePartitions refuses to change the count under stored keys). A
// record whose append is in flight is waited for, so a Get after an
// append returns it. A nil key fails with ErrKeyRequired, as its append
// does; the empty key is a key.
func (b *Broker) Get(ctx context.Context, topicName string, key []byte) (Record, error) {
	if err := b.check(ctx); err != nil {
		return Record{}, err
	}
	t, err := b.topics.Get(topicName)
	if err != nil {
		return Record{}, err
	}
	if key == nil {
		// No record of a compacted topic has a nil key (appending one
		// fails with ErrKeyRequired), and the empty key's is another.
		return Record{}, fmt.Errorf("%w: %s: nil key", ErrKeyRequired, topicName)
	}
	p := t.Partitions[topic.KeyPartition(key, len(t.Partitions))]
	return p.Get(ctx, key)
}
