package producer_test

import (
	"testing"

	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// A nil broker is an error, not a panic.
func TestNewNilBroker(t *testing.T) {
	p, err := producer.New(ctx, nil, nil)
	require.ErrorIs(t, err, partition.ErrInvalidArgument)
	require.Nil(t, p)
}
