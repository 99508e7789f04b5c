package cairn

import (
	"errors"

	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

// Errors returned by the broker, all usable with errors.Is. They are the
// same values as the lower packages' sentinels, gathered here so users need
// one import.
var (
	ErrClosed           = partition.ErrClosed
	ErrOffsetOutOfRange = partition.ErrOffsetOutOfRange
	ErrMessageTooLarge  = partition.ErrMessageTooLarge
	ErrCorruptStorage   = partition.ErrCorruptStorage
	ErrInvalidArgument  = partition.ErrInvalidArgument
	// Idempotent producers' errors.
	ErrOutOfOrderSequence = partition.ErrOutOfOrderSequence
	ErrDuplicateSequence  = partition.ErrDuplicateSequence
	ErrProducerFenced     = partition.ErrProducerFenced
	// Consumer groups' errors.
	ErrInvalidGroupID       = group.ErrInvalidGroupID
	ErrUnknownGroup         = group.ErrUnknownGroup
	ErrUnknownMemberID      = group.ErrUnknownMemberID
	ErrIllegalGeneration    = group.ErrIllegalGeneration
	ErrRebalanceInProgress  = group.ErrRebalanceInProgress
	ErrFencedInstanceID     = group.ErrFencedInstanceID
	ErrNonEmptyGroup        = group.ErrNonEmptyGroup
	ErrNotAssigned          = group.ErrNotAssigned
	ErrInvalidOffset        = group.ErrInvalidOffset
	ErrInconsistentProtocol = group.ErrInconsistentProtocol
	ErrUnknownTopic         = topic.ErrUnknownTopic
	ErrUnknownPartition     = topic.ErrUnknownPartition
	ErrTopicExists          = topic.ErrTopicExists
	ErrInvalidTopic         = topic.ErrInvalidTopic
	ErrInvalidPartitions    = topic.ErrInvalidPartitions
	ErrInvalidConfig        = topic.ErrInvalidConfig
	ErrCorruptBatch         = log.ErrCorruptBatch
	ErrInvalidRecord        = log.ErrInvalidRecord
	ErrUnknownCodec         = log.ErrUnknownCodec
	ErrInvalidHeader        = log.ErrInvalidHeader
	ErrEmptyBatch           = log.ErrEmptyBatch
	ErrUnsupportedMagic     = log.ErrUnsupportedMagic

	// ErrLocked reports a data directory already opened by another Broker,
	// in this process or another.
	ErrLocked = errors.New("cairn: data directory in use")
	// ErrInvalidOptions reports Options that fail Validate. It is
	// ErrInvalidArgument, which producer and consumer options also use.
	ErrInvalidOptions = partition.ErrInvalidArgument
)

// Struct errors with a location, usable with errors.As.
type (
	// OffsetError is an offset out of range with the valid range.
	OffsetError = partition.OffsetError
	// PartitionError is a partition-level error with topic, partition and
	// offset.
	PartitionError = partition.Error
	// ConfigError names a refused topic config key and value.
	ConfigError = topic.ConfigError
	// UnknownPartitionError names a partition outside its topic.
	UnknownPartitionError = topic.UnknownPartitionError
)
