package partition

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is; the struct errors below wrap
// them with the partition and offset.
var (
	// ErrClosed is returned by calls on a closed partition (its broker was
	// closed or its topic deleted).
	ErrClosed = errors.New("cairn: closed")
	// ErrOffsetOutOfRange reports an offset below the log start offset or
	// above the high watermark.
	ErrOffsetOutOfRange = errors.New("cairn: offset out of range")
	// ErrMessageTooLarge reports a batch over the topic's max.message.bytes.
	ErrMessageTooLarge = errors.New("cairn: message too large")
	// ErrCorruptStorage reports a stored batch that fails its CRC or does
	// not decode. It also matches log.ErrCorruptBatch.
	ErrCorruptStorage = errors.New("cairn: corrupt batch in storage")
	// ErrInvalidArgument reports an argument no call could accept, such as
	// a negative byte limit.
	ErrInvalidArgument = errors.New("cairn: invalid argument")
)

// OffsetError is an offset out of range, with the valid range.
type OffsetError struct {
	Topic         string
	Partition     int32
	Offset        int64
	LogStart      int64
	HighWatermark int64
}

func (e *OffsetError) Error() string {
	return fmt.Sprintf("cairn: offset %d out of range [%d, %d] in %s/%d",
		e.Offset, e.LogStart, e.HighWatermark, e.Topic, e.Partition)
}

// Unwrap makes errors.Is(err, ErrOffsetOutOfRange) true.
func (e *OffsetError) Unwrap() error { return ErrOffsetOutOfRange }

// Error is any other partition error with its location: a batch that is too
// large or corrupt, a storage failure. Offset is -1 where none applies.
type Error struct {
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("%v (%s/%d)", e.Err, e.Topic, e.Partition)
	}
	return fmt.Sprintf("%v (%s/%d at offset %d)", e.Err, e.Topic, e.Partition, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

// corruptError wraps err (a log.ErrCorruptBatch) so it also matches
// ErrCorruptStorage.
type corruptError struct{ err error }

func (e corruptError) Error() string   { return ErrCorruptStorage.Error() + ": " + e.err.Error() }
func (e corruptError) Unwrap() []error { return []error{ErrCorruptStorage, e.err} }

// Errors of idempotent producers, as Kafka's.
var (
	// ErrOutOfOrderSequence reports a batch whose sequence number leaves a
	// gap after the producer's last batch: an earlier batch was lost.
	ErrOutOfOrderSequence = errors.New("cairn: out of order sequence number")
	// ErrDuplicateSequence reports a retry of a batch older than the ones
	// remembered for dedupe; it was appended before and is not appended
	// again.
	ErrDuplicateSequence = errors.New("cairn: duplicate sequence number")
	// ErrProducerFenced reports a batch from an older epoch of a producer
	// id that a newer instance has taken over.
	ErrProducerFenced = errors.New("cairn: producer fenced by a newer epoch")
)
