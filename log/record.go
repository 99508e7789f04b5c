package log

import "time"

// MaxHeaderKeyLen bounds a header key so it stays a valid Kafka protocol
// string (int16 length).
const MaxHeaderKeyLen = 1<<15 - 1

// Record is one entry of a partition log. Records are plain values: the
// log never keeps a reference to a Record handed to it.
type Record struct {
	// Topic and Partition say where the record lives. They are set on
	// read; on append they are ignored by the partition itself and used by
	// producers to route the record.
	Topic     string
	Partition int32
	// Key is optional; nil and empty are different keys, as in Kafka.
	Key []byte
	// Value is the payload; nil is a tombstone in compacted topics.
	Value []byte
	// Headers are optional metadata pairs, kept in order.
	Headers []Header
	// Timestamp is the record's create time, or the log append time for
	// topics configured so. A zero Timestamp is set to the append time.
	Timestamp time.Time
	// Offset is the record's position in its partition. It is set by the
	// log on read and ignored on append.
	Offset int64
}

// Header is a key/value pair attached to a record.
type Header struct {
	Key   string
	Value []byte
}

// validateHeaders checks header keys: at most MaxHeaderKeyLen bytes. An
// empty key is valid, as in Kafka, which refuses only a null one (a Go
// string cannot be null): Kafka clients send them.
func validateHeaders(hs []Header) error {
	for i := range hs {
		if len(hs[i].Key) > MaxHeaderKeyLen {
			return ErrInvalidHeader
		}
	}
	return nil
}
