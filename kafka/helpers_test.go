package kafka_test

import (
	"fmt"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// appendValues appends n records to each of the topic's partitions, with
// values "<partition>-<i>".
func appendValues(t *testing.T, b *cairn.Broker, topic string, partitions, n int) {
	t.Helper()
	for p := range int32(partitions) {
		for i := range n {
			_, err := b.Append(ctx, topic, p, cairn.Record{Value: fmt.Appendf(nil, "%d-%d", p, i)})
			require.NoError(t, err)
		}
	}
}
