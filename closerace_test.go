package cairn_test

import (
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// InitProducerID racing Close gets ErrClosed or an id, never a panic: it
// writes to Pebble directly, and Close waits for it (it panicked in a
// closed Pebble).
func TestInitProducerIDRacesClose(t *testing.T) {
	for i := 0; i < 50; i++ {
		b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1, Durability: cairn.NoSync})
		var wg sync.WaitGroup
		var panicked any
		var mu sync.Mutex
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if r := recover(); r != nil {
						mu.Lock()
						panicked = r
						mu.Unlock()
					}
				}()
				for {
					if _, _, err := b.InitProducerID(ctx); err != nil {
						return
					}
				}
			}()
		}
		time.Sleep(time.Millisecond)
		b.Close()
		wg.Wait()
		if panicked != nil {
			t.Fatalf("iteration %d: InitProducerID panicked: %v", i, panicked)
		}
	}
}

// Cleanup racing Close ends: Close stops the pass and waits for it (a
// pass could compact the closed Pebble and wait for good).
func TestCleanupRacesClose(t *testing.T) {
	for i := 0; i < 100; i++ {
		b := openMem(t, vfs.NewMem(), &cairn.Options{CleanupInterval: -1, Durability: cairn.NoSync})
		require.NoError(t, b.CreateTopic(ctx, "t", 1, cairn.TopicConfig{"cleanup.policy": "compact"}))
		for j := 0; j < 200; j++ {
			_, err := b.Append(ctx, "t", 0, cairn.Record{Key: []byte("k"), Value: []byte("v")})
			require.NoError(t, err)
		}
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			for off := int64(1); ; off++ {
				if err := b.DeleteRecords(ctx, "t", 0, off); err != nil {
					return
				}
				if err := b.Cleanup(ctx); err != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(i%10) * time.Millisecond)
		require.NoError(t, b.Close())
		select {
		case r := <-done:
			if r != nil {
				t.Fatalf("iteration %d: Cleanup panicked: %v", i, r)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("iteration %d: Close returned but Cleanup is still running 5s later (stuck in pebble Compact on the closed DB)", i)
		}
	}
}
