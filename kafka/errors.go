package kafka

import (
	"errors"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/twmb/franz-go/pkg/kerr"
)

// codes maps Cairn's errors to Kafka error codes, most specific first.
var codes = []struct {
	err  error
	code *kerr.Error
}{
	{cairn.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{cairn.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
	{cairn.ErrMessageTooLarge, kerr.MessageTooLarge},
	{cairn.ErrInvalidRecord, kerr.InvalidRecord}, // wrapped with ErrCorruptBatch
	{cairn.ErrKeyRequired, kerr.InvalidRecord},   // as Kafka's LogValidator for a compacted topic
	{cairn.ErrCorruptBatch, kerr.CorruptMessage},
	{cairn.ErrInvalidHeader, kerr.CorruptMessage},
	{cairn.ErrEmptyBatch, kerr.CorruptMessage},
	{cairn.ErrUnknownCodec, kerr.UnsupportedCompressionType},
	{cairn.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{cairn.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	// A sequence older than the remembered batches: Kafka answers it out
	// of order too, and franz-go takes DUPLICATE_SEQUENCE_NUMBER, which
	// brokers no longer send, for success at the answer's base offset.
	{cairn.ErrDuplicateSequence, kerr.OutOfOrderSequenceNumber},
	{cairn.ErrProducerFenced, kerr.InvalidProducerEpoch},
	{cairn.ErrInvalidTopic, kerr.InvalidTopicException},
	{cairn.ErrTopicExists, kerr.TopicAlreadyExists},
	{cairn.ErrInvalidPartitions, kerr.InvalidPartitions},
	{cairn.ErrInvalidConfig, kerr.InvalidConfig},
	{group.ErrMemberIDRequired, kerr.MemberIDRequired},
	{group.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout},
	{cairn.ErrInvalidGroupID, kerr.InvalidGroupID},
	{cairn.ErrUnknownGroup, kerr.GroupIDNotFound},
	{cairn.ErrUnknownMemberID, kerr.UnknownMemberID},
	{cairn.ErrIllegalGeneration, kerr.IllegalGeneration},
	{cairn.ErrRebalanceInProgress, kerr.RebalanceInProgress},
	{cairn.ErrFencedInstanceID, kerr.FencedInstanceID},
	{cairn.ErrNonEmptyGroup, kerr.NonEmptyGroup},
	{cairn.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol},
	{cairn.ErrInvalidOffset, kerr.InvalidCommitOffsetSize},
	{cairn.ErrInvalidArgument, kerr.InvalidRequest},
	{cairn.ErrClosed, kerr.NotCoordinator},
}

// partitionCode is code for an error of a partition's read or write
// (Fetch, ListOffsets, OffsetForLeaderEpoch, DeleteRecords, Produce): a
// closed partition, whose topic is being deleted or broker closed, is one
// this broker no longer leads, as Kafka answers, which clients retry after
// a metadata refresh. NOT_COORDINATOR, right for the group calls, is an
// unexpected fetch error the Java consumer's poll throws on.
func partitionCode(err error) int16 {
	if errors.Is(err, cairn.ErrClosed) {
		return kerr.NotLeaderForPartition.Code
	}
	return code(err)
}

// code returns the Kafka error code for err (0 for nil).
func code(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code.Code
		}
	}
	return kerr.UnknownServerError.Code
}
