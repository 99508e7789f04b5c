package log

import (
	"errors"
	"fmt"
)

// Sentinel errors of the log format. Match them with errors.Is.
var (
	// ErrCorruptBatch reports bytes that are not a valid RecordBatch v2:
	// truncated, a bad length, a CRC mismatch or malformed records.
	ErrCorruptBatch = errors.New("cairn: corrupt record batch")
	// ErrInvalidRecord reports a well-formed batch a client may not
	// write (a control batch, a transactional batch without a producer
	// id), as Kafka's InvalidRecordException. It comes wrapped with
	// ErrCorruptBatch.
	ErrInvalidRecord = errors.New("cairn: invalid record batch from a client")
	// ErrUnknownCodec reports a compression codec outside none, gzip,
	// snappy, lz4 and zstd.
	ErrUnknownCodec = errors.New("cairn: unknown compression codec")
	// ErrUnsupportedMagic reports a batch whose magic byte is not 2.
	ErrUnsupportedMagic = errors.New("cairn: unsupported record batch magic")
	// ErrInvalidHeader reports a record header with an oversized key (or, in
	// an encoded batch, a null one).
	ErrInvalidHeader = errors.New("cairn: invalid record header")
	// ErrEmptyBatch reports a batch without records.
	ErrEmptyBatch = errors.New("cairn: empty record batch")
)

// corrupt wraps ErrCorruptBatch with what was wrong.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrCorruptBatch, fmt.Errorf(format, args...))
}
