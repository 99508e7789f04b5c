package cairntest_test

import (
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/cairntest"
	"github.com/cairnlog/cairn/kafka"
	"github.com/stretchr/testify/require"
)

// Start refuses Kafka options the listener cannot serve with, instead
// of returning a listener that is already dead.
func TestStartValidatesKafkaOptions(t *testing.T) {
	k, err := cairntest.Start(&cairntest.Options{Kafka: kafka.Options{AdvertisedAddr: "foo"}})
	if k != nil {
		k.Close()
	}
	require.ErrorIs(t, err, cairn.ErrInvalidOptions)
}
