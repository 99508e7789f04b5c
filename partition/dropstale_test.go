package partition

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/stretchr/testify/require"
)

// DropStaleKeys holds the partition open (life.RLock) for its whole scan
// of the key index, so a Close (DeleteTopic, which also holds the
// registry lock) waits for the entire sweep, and while it waits every
// other call on the partition blocks behind it (RWMutex writer
// preference). A sweep should let Close in between its steps.
func TestCloseDoesNotWaitForWholeSweep(t *testing.T) {
	p := newPartition(t, false)
	cfg := p.Config()
	cfg.Compacted = true
	p.SetConfig(cfg)
	const n = 200_000
	batch := make([]log.Record, 0, 1000)
	for i := range n {
		batch = append(batch, log.Record{Key: []byte(fmt.Sprintf("session-%08d", i)), Value: []byte("x")})
		if len(batch) == cap(batch) {
			_, err := p.Append(ctx, batch)
			require.NoError(t, err)
			batch = batch[:0]
		}
	}
	require.NoError(t, p.DeleteRecords(ctx, p.HighWatermark()))

	swept := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		_, _ = p.DropStaleKeys(context.Background())
		swept <- time.Since(start)
	}()
	time.Sleep(20 * time.Millisecond) // the sweep is under way
	closeStart := time.Now()
	require.NoError(t, p.Close())
	closeTook := time.Since(closeStart)
	sweep := <-swept
	t.Logf("sweep ran %v; Close waited %v", sweep, closeTook)
	require.Less(t, closeTook, time.Second, "Close waited for the whole sweep (2.3 s before it went in steps, 1m53s under -race)")
}
