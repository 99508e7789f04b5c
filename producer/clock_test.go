package producer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClockFollowsTimeNow(t *testing.T) {
	var c clock
	for range 5 {
		before := time.Now()
		got := c.now()
		after := time.Now()
		require.False(t, got.Before(before.Add(-time.Millisecond)), "%v before %v", got, before)
		require.False(t, got.After(after.Add(time.Millisecond)), "%v after %v", got, after)
		time.Sleep(3 * time.Millisecond)
	}
	// An old base is replaced by a fresh reading.
	old := time.Now().Add(-2 * clockRebase)
	c.base.Store(&old)
	require.WithinDuration(t, time.Now(), c.now(), 10*time.Millisecond)
	require.NotEqual(t, old, *c.base.Load())
}
