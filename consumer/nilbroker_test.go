package consumer_test

import (
	"testing"

	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/partition"
	"github.com/stretchr/testify/require"
)

// A nil broker is an error, not a panic on first use.
func TestNewNilBroker(t *testing.T) {
	c, err := consumer.New(nil, &consumer.Options{Topics: []string{"t"}})
	require.ErrorIs(t, err, partition.ErrInvalidArgument)
	require.Nil(t, c)
}
