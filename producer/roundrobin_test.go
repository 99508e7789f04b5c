package producer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// As Kafka's RoundRobinPartitioner (a counter per topic): each topic's
// records go round its partitions, whatever other topics are produced
// to in between.
func TestRoundRobinPerTopic(t *testing.T) {
	rr := RoundRobin()
	seen := map[string]map[int32]bool{"a": {}, "b": {}}
	for range 8 {
		for _, topic := range []string{"a", "b"} {
			seen[topic][rr.Partition(&Record{Topic: topic}, 2)] = true
		}
	}
	require.Len(t, seen["a"], 2, "topic a uses both its partitions")
	require.Len(t, seen["b"], 2, "topic b uses both its partitions")
}
