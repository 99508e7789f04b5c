package consumer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGroupChaos runs consumers of one group that join, leave, crash (stop
// polling and heartbeating) and restart at random while producers write.
// It checks that no stable generation gives a partition to two members,
// that every produced record is processed at least once, and that a commit
// (made after processing) never skips an unprocessed record. The seed is
// printed; rerun one with CAIRN_SEED=n.
func TestGroupChaos(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CAIRN_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (rerun with CAIRN_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	fail := func(format string, args ...any) {
		t.Errorf("seed %d: "+format, append([]any{seed}, args...)...)
	}

	const partitions = 6
	b := newBroker(t, map[string]int{"r": partitions})
	var mu sync.Mutex
	processed := make([]map[int64]bool, partitions)
	for i := range processed {
		processed[i] = map[int64]bool{}
	}

	stopAll, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	var bg sync.WaitGroup

	// Producers.
	for w := 0; w < 2; w++ {
		bg.Go(func() {
			for i := 0; stopAll.Err() == nil; i++ {
				p := int32((w + i) % partitions)
				if _, err := b.Append(ctx, "r", p, cairn.Record{Value: []byte(fmt.Sprint(i))}); err != nil {
					fail("append: %v", err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}

	// Watcher: every stable generation's assignment is disjoint.
	bg.Go(func() {
		for stopAll.Err() == nil {
			a, state := assignments(t, b, "chaos")
			if state == group.Stable {
				owner := map[group.TopicPartition]string{}
				for m, tps := range a {
					for _, tp := range tps {
						if o, dup := owner[tp]; dup {
							fail("%v owned by %s and %s", tp, o, m)
						}
						owner[tp] = m
					}
				}
			}
			time.Sleep(time.Millisecond)
		}
	})

	type slot struct {
		c      *consumer.Consumer
		sink   *heartbeatSink
		cancel context.CancelFunc
		done   chan struct{}
	}
	var crashed []*slot
	start := func() *slot {
		sink := &heartbeatSink{Broker: b}
		o := &consumer.Options{Group: "chaos", Topics: []string{"r"}, SessionTimeout: 300 * time.Millisecond,
			HeartbeatInterval: 20 * time.Millisecond, RebalanceTimeout: time.Second,
			MetadataInterval: 20 * time.Millisecond, DisableAutoCommit: true, MaxPollRecords: 50}
		c, err := consumer.New(sink, o)
		require.NoError(t, err)
		s := &slot{c: c, sink: sink, done: make(chan struct{})}
		var runCtx context.Context
		runCtx, s.cancel = context.WithCancel(stopAll)
		go func() {
			defer close(s.done)
			for runCtx.Err() == nil {
				pctx, pcancel := context.WithTimeout(runCtx, 50*time.Millisecond)
				f, err := c.Poll(pctx)
				pcancel()
				if err != nil || len(f.Records) == 0 {
					continue
				}
				mu.Lock()
				for _, r := range f.Records {
					processed[r.Partition][r.Offset] = true
				}
				mu.Unlock()
				if err := c.CommitRecords(runCtx, f.Records...); err != nil {
					continue // fenced by a rebalance: fine, nothing changed
				}
				mu.Lock()
				for _, r := range f.Records {
					for off := int64(0); off <= r.Offset; off++ {
						if !processed[r.Partition][off] {
							fail("commit of %d/%d skips unprocessed offset %d", r.Partition, r.Offset+1, off)
							break
						}
					}
				}
				mu.Unlock()
			}
		}()
		return s
	}

	slots := make([]*slot, 4)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && !t.Failed() {
		i := rng.IntN(len(slots))
		switch s := slots[i]; {
		case s == nil:
			slots[i] = start()
		case rng.IntN(3) == 0: // crash: no more polls or heartbeats
			s.sink.dead.Store(true)
			s.cancel()
			<-s.done
			crashed = append(crashed, s)
			slots[i] = nil
		case rng.IntN(2) == 0: // leave cleanly
			s.cancel()
			<-s.done
			require.NoError(t, s.c.Close())
			slots[i] = nil
		}
		time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
	}
	// Calm: two healthy members finish the work.
	for i := range slots {
		if slots[i] == nil && i < 2 {
			slots[i] = start()
		}
	}
	time.Sleep(100 * time.Millisecond)
	hwms := make([]int64, partitions)
	assert.Eventually(t, func() bool {
		for p := range hwms {
			_, hwm, err := b.Watermarks("r", int32(p))
			require.NoError(t, err)
			hwms[p] = hwm
		}
		mu.Lock()
		defer mu.Unlock()
		for p, hwm := range hwms {
			for off := int64(0); off < hwm; off++ {
				if !processed[p][off] {
					return false
				}
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "seed %d: every record is processed at least once", seed)
	if t.Failed() {
		d, err := b.Groups().DescribeGroup(ctx, "chaos")
		t.Logf("group: %+v %v", d, err)
		for _, m := range d.Members {
			tps, _ := group.DecodeAssignment(m.Assignment)
			t.Logf("member %s: %v", m.MemberID, tps)
		}
		mu.Lock()
		for p, hwm := range hwms {
			for off := int64(0); off < hwm; off++ {
				if !processed[p][off] {
					t.Logf("partition %d: first unprocessed %d of %d", p, off, hwm)
					break
				}
			}
		}
		mu.Unlock()
	}

	cancelAll()
	bg.Wait()
	for _, s := range slots {
		if s != nil {
			s.cancel()
			<-s.done
			require.NoError(t, s.c.Close())
		}
	}
	for _, s := range crashed {
		require.NoError(t, s.c.Close())
	}
}
