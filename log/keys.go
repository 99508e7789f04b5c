package log

import "encoding/binary"

// Key spaces of the Pebble store, one prefix byte each. Integers are
// big-endian so Pebble's byte order is the log's order.
const (
	// PrefixData: d | topicID u32 | partition u32 | lastOffset u64 -> batch.
	PrefixData byte = 'd'
	// PrefixPartition: p | topicID u32 | partition u32 -> partition state.
	PrefixPartition byte = 'p'
	// PrefixProducer: s | topicID u32 | partition u32 | producerID u64 ->
	// idempotent producer state.
	PrefixProducer byte = 's'
	// PrefixTime: x | topicID u32 | partition u32 | maxTimestamp u64 ->
	// last offset of the first batch whose max timestamp reached it.
	PrefixTime byte = 'x'
	// PrefixKey: k | topicID u32 | partition u32 | record key -> offset
	// u64 of the key's latest record (compacted topics' table view).
	PrefixKey byte = 'k'
	// PrefixClean: c | topicID u32 | partition u32 -> cleaner checkpoint
	// and counters.
	PrefixClean byte = 'c'
	// PrefixTopic: t | name -> topic descriptor.
	PrefixTopic byte = 't'
	// PrefixGroupOffsets: o | len u16 | group | len u16 | topic |
	// partition u32 -> committed offset (package group).
	PrefixGroupOffsets byte = 'o'
	// PrefixMeta: m | name -> broker metadata.
	PrefixMeta byte = 'm'
)

// DataKeyLen is the length of a data key.
const DataKeyLen = 17

// DataKey appends the key of the batch ending at lastOffset to dst.
func DataKey(dst []byte, topicID, partition uint32, lastOffset int64) []byte {
	dst = PartitionPrefix(dst, PrefixData, topicID, partition)
	return binary.BigEndian.AppendUint64(dst, uint64(lastOffset))
}

// PartitionPrefix appends prefix | topicID | partition to dst.
func PartitionPrefix(dst []byte, prefix byte, topicID, partition uint32) []byte {
	dst = append(dst, prefix)
	dst = binary.BigEndian.AppendUint32(dst, topicID)
	return binary.BigEndian.AppendUint32(dst, partition)
}

// TopicPrefix appends prefix | topicID to dst.
func TopicPrefix(dst []byte, prefix byte, topicID uint32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, prefix), topicID)
}

// DataKeyOffset returns the last offset encoded in a data key, or false if
// key is not a data key.
func DataKeyOffset(key []byte) (int64, bool) {
	if len(key) != DataKeyLen || key[0] != PrefixData {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(key[9:])), true
}

// PartitionPrefixes lists the key spaces that hold one partition's data;
// deleting a topic clears all of them.
var PartitionPrefixes = []byte{PrefixData, PrefixPartition, PrefixProducer, PrefixTime, PrefixKey, PrefixClean}

// PrefixEnd returns the smallest key greater than every key with prefix p.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i]++; end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
