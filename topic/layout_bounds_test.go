package topic

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// README.md and the SegmentBytes group's doc: Kafka's layout keys are
// "checked as Kafka checks them". Kafka's LogConfig defines
// segment.index.bytes with atLeast(4) and flush.messages with atLeast(1);
// Cairn took 0 (and 1 to 3) for both.
func TestLayoutKeysKafkaLowerBounds(t *testing.T) {
	for _, c := range []Config{
		{SegmentIndexBytes: "0"},
		{SegmentIndexBytes: "3"},
		{FlushMessages: "0"},
	} {
		require.ErrorIs(t, c.Validate(), ErrInvalidConfig, "%v", c)
	}
	for _, c := range []Config{
		{SegmentIndexBytes: "4"},
		{FlushMessages: "1"},
		{FlushMs: "0"}, {IndexIntervalBytes: "0"}, {SegmentJitterMs: "0"},
		{FileDeleteDelayMs: "0"}, {SegmentBytes: "14"}, {SegmentMs: "1"},
	} {
		require.NoError(t, c.Validate(), "%v", c)
	}
}
