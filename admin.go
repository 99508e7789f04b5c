package cairn

import (
	"context"

	"github.com/cairnlog/cairn/topic"
)

// TopicConfig is a topic's config overrides by Kafka key name.
type TopicConfig = topic.Config

// TopicInfo describes a topic.
type TopicInfo struct {
	Name string
	// ID is the topic's internal id, unique over the broker's lifetime.
	ID         uint32
	Partitions []PartitionInfo
	// Config holds every known key with its effective value.
	Config []ConfigEntry
}

// PartitionInfo is a partition's offsets.
type PartitionInfo struct {
	Partition     int32
	LogStart      int64
	HighWatermark int64
}

// ConfigEntry is one topic config key with its effective value.
type ConfigEntry struct {
	Key, Value string
	// IsDefault is true when the topic does not override the key.
	IsDefault bool
}

// CreateTopic creates a topic with the given partition count and config
// overrides (nil for the defaults). It waits for a DeleteTopic in flight
// (of any topic) to finish, so a topic created again under a deleted
// one's name never shows the old one's committed offsets.
func (b *Broker) CreateTopic(ctx context.Context, name string, partitions int, cfg TopicConfig) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	// As Kafka, which refuses a topic still being deleted: a DeleteTopic
	// in flight clears the old topic's commits first, or the new topic
	// would show them.
	b.deleteMu.Lock()
	defer b.deleteMu.Unlock()
	_, err := b.topics.Create(name, partitions, cfg)
	return err
}

// DeleteTopic deletes a topic, all its records and every group's committed
// offsets for it, as Kafka does. Handles to its
// partitions return ErrClosed from then on.
func (b *Broker) DeleteTopic(ctx context.Context, name string) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	b.deleteMu.Lock()
	defer b.deleteMu.Unlock()
	if b.closed.Load() {
		return ErrClosed
	}
	// Not under topicMu: Delete waits for the topic's appends in flight,
	// whose callers may commit before they finish them.
	if err := b.topics.Delete(name); err != nil {
		return err
	}
	if deleteTopicHook != nil {
		deleteTopicHook()
	}
	// A commit that saw the topic before it went holds topicMu's read
	// side until it is stored; later ones see it gone.
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	// As Kafka: the groups' commits for the topic go with it, so a topic
	// created again under the name is read from its start.
	return b.groups.ForgetTopic(name)
}

// deleteTopicHook, set by tests, runs in DeleteTopic between the
// topic's deletion and the removal of its commits: where a crash leaves
// commits of a topic that no longer exists.
var deleteTopicHook func()

// Topics returns the names of all topics, sorted.
func (b *Broker) Topics(ctx context.Context) ([]string, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	var names []string
	for _, t := range b.topics.List() {
		names = append(names, t.Name)
	}
	return names, nil
}

// DescribeTopic returns a topic's partitions with their offsets and its
// full configuration.
func (b *Broker) DescribeTopic(ctx context.Context, name string) (TopicInfo, error) {
	if err := b.check(ctx); err != nil {
		return TopicInfo{}, err
	}
	t, err := b.topics.Get(name)
	if err != nil {
		return TopicInfo{}, err
	}
	info := TopicInfo{Name: t.Name, ID: t.ID}
	for _, p := range t.Partitions {
		info.Partitions = append(info.Partitions, PartitionInfo{
			Partition: p.Index(), LogStart: p.LogStart(), HighWatermark: p.HighWatermark(),
		})
	}
	for _, k := range topic.Keys() {
		_, set := t.Config[k]
		info.Config = append(info.Config, ConfigEntry{Key: k, Value: t.Config.Get(k), IsDefault: !set})
	}
	return info, nil
}

// AlterTopicConfig sets config keys of a topic and resets others to their
// defaults. The change is validated whole: on error nothing changes. A
// key both set and reset is refused (ErrInvalidConfig), as Kafka refuses
// a key named twice in one alteration.
func (b *Broker) AlterTopicConfig(ctx context.Context, name string, set TopicConfig, reset ...string) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	_, err := b.topics.AlterConfig(name, set, reset)
	return err
}

// CreatePartitions grows a topic to total partitions; the count can only
// grow, as in Kafka. A compacted topic that holds records cannot grow
// (ErrInvalidPartitions), unlike in Kafka: Get looks a key up in
// partition murmur2(key) mod the count, so keys stored before would no
// longer be found.
func (b *Broker) CreatePartitions(ctx context.Context, name string, total int) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	_, err := b.topics.AddPartitions(name, total)
	return err
}
