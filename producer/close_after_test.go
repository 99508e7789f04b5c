package producer_test

import (
	"context"
	"testing"

	"github.com/cairnlog/cairn/producer"
	"github.com/stretchr/testify/require"
)

// A Close after a Close that has already finished has nothing to wait
// for: it must return the first Close's result, whatever its own ctx.
// With a ctx already done, select picks one of the two ready cases at
// random, so about half of these Closes answer context.Canceled after a
// Close that flushed everything and returned nil.
func TestCloseAfterDoneIgnoresOwnCtx(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	p, err := producer.New(ctx, b, nil)
	require.NoError(t, err)
	require.NoError(t, p.Close(ctx))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	wrong := 0
	for range 100 {
		if err := p.Close(cancelled); err != nil {
			wrong++
		}
	}
	require.Zero(t, wrong, "Closes after a finished, successful Close returned ctx's error")
}
