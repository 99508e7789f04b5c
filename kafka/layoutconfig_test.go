package kafka_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
)

// Kafka Streams creates its repartition topics with segment.bytes (and
// tools set segment.ms, flush.ms, preallocate...): Kafka layout keys that
// Cairn refused as unknown, so those topics, and the apps that need them,
// could not be created. They are taken, checked as Kafka checks them,
// and described back; they change nothing in Cairn.
func TestCreateTopicWithKafkaLayoutConfigs(t *testing.T) {
	b, addr := serve(t, nil)
	adm := kadm.NewClient(client(t, addr))
	streams := map[string]*string{ // a Kafka Streams repartition topic's configs
		"cleanup.policy":         kadm.StringPtr("delete"),
		"segment.bytes":          kadm.StringPtr("52428800"),
		"retention.ms":           kadm.StringPtr("-1"),
		"message.timestamp.type": kadm.StringPtr("CreateTime"),
		"segment.ms":             kadm.StringPtr("600000"),
		"preallocate":            kadm.StringPtr("TRUE"),
	}
	resp, err := adm.CreateTopics(ctx, 2, 1, streams, "app-repartition")
	require.NoError(t, err)
	require.NoError(t, resp["app-repartition"].Err)

	cfgs, err := adm.DescribeTopicConfigs(ctx, "app-repartition")
	require.NoError(t, err)
	rc, err := cfgs.On("app-repartition", nil)
	require.NoError(t, err)
	got := map[string]string{}
	for _, c := range rc.Configs {
		got[c.Key] = c.MaybeValue()
	}
	require.Equal(t, "52428800", got["segment.bytes"])
	require.Equal(t, "600000", got["segment.ms"])
	require.Equal(t, "60000", got["file.delete.delay.ms"], "a default")

	// Checked as Kafka checks them: segment.bytes at least 14, booleans.
	resp, err = adm.CreateTopics(ctx, 1, 1, map[string]*string{"segment.bytes": kadm.StringPtr("13")}, "bad")
	require.NoError(t, err)
	require.ErrorContains(t, resp["bad"].Err, "INVALID_CONFIG")
	resp, err = adm.CreateTopics(ctx, 1, 1, map[string]*string{"preallocate": kadm.StringPtr("yes")}, "bad")
	require.NoError(t, err)
	require.ErrorContains(t, resp["bad"].Err, "INVALID_CONFIG")
	names, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"app-repartition"}, names)
}
