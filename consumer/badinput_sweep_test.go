package consumer_test

import (
	"strings"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/partition"
	"github.com/stretchr/testify/require"
)

// A topic name no topic can have is refused by New. It was taken: a
// subscription to it waited in Poll for good (as for a topic not created
// yet), and an assignment failed at every Poll.
func TestInvalidTopicNamesBadInput(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	for _, name := range []string{"", "a/b", "..", strings.Repeat("x", 250)} {
		for _, o := range []*consumer.Options{
			{Topics: []string{"t", name}},
			{Partitions: map[string][]int32{name: {0}}},
			{Topics: []string{name}, Group: "g"},
		} {
			c, err := consumer.New(b, o)
			require.ErrorIs(t, err, cairn.ErrInvalidArgument, "%q", name)
			require.ErrorIs(t, err, cairn.ErrInvalidTopic, "%q", name)
			require.Nil(t, c)
		}
	}
}

// nil Options are valid (New takes them); Validate on them does not panic.
func TestNilOptionsValidateBadInput(t *testing.T) {
	var o *consumer.Options
	// Validated as the defaults, without a panic: they name nothing to
	// consume, as New(b, nil) does not either.
	require.ErrorIs(t, o.Validate(), partition.ErrInvalidArgument)
}

// A consumer with neither Topics nor Partitions could never read
// anything (topics cannot be added after New), and its Poll waited for
// ever; as Kafka's poll throws for a consumer neither subscribed nor
// assigned, New refuses it.
func TestNothingToConsumeRefused(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	_, err := consumer.New(b, &consumer.Options{})
	require.ErrorIs(t, err, partition.ErrInvalidArgument)
	_, err = consumer.New(b, nil)
	require.ErrorIs(t, err, partition.ErrInvalidArgument)
}
