package topic

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrUnknownTopic reports a topic that does not exist.
	ErrUnknownTopic = errors.New("cairn: unknown topic")
	// ErrUnknownPartition reports a partition number outside a topic.
	ErrUnknownPartition = errors.New("cairn: unknown partition")
	// ErrTopicExists reports a create of a topic that already exists.
	ErrTopicExists = errors.New("cairn: topic already exists")
	// ErrInvalidTopic reports a topic name that breaks Kafka's rules.
	ErrInvalidTopic = errors.New("cairn: invalid topic name")
	// ErrInvalidPartitions reports a partition count below 1, above
	// MaxPartitions, or not above the current count when adding; or
	// partitions added to a compacted topic that holds records.
	ErrInvalidPartitions = errors.New("cairn: invalid partition count")
	// ErrInvalidConfig reports an unknown topic config key or a bad value.
	ErrInvalidConfig = errors.New("cairn: invalid topic config")
)

// ConfigError names the config key and value that were refused.
type ConfigError struct {
	Key, Value string
	Reason     string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%v: %s=%q: %s", ErrInvalidConfig, e.Key, e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// UnknownPartitionError names the topic and partition of an unknown partition.
type UnknownPartitionError struct {
	Topic     string
	Partition int32
}

func (e *UnknownPartitionError) Error() string {
	return fmt.Sprintf("%v: %s/%d", ErrUnknownPartition, e.Topic, e.Partition)
}

// Unwrap makes errors.Is(err, ErrUnknownPartition) true.
func (e *UnknownPartitionError) Unwrap() error { return ErrUnknownPartition }
