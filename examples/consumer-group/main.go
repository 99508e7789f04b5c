// Command consumer-group runs three consumers of one group in one process
// sharing a 6-partition topic while a producer writes. Members join one
// after another and one leaves; each prints its partitions as they are
// assigned and revoked (cooperative-sticky: only moved partitions change
// hands), and the totals show every record was processed or, appended
// after the members stopped reading, is left for the group's next run.
//
//	go run ./examples/consumer-group
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/producer"
)

func main() {
	if err := run(context.Background(), 700*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "consumer-group:", err)
		os.Exit(1)
	}
}

// run stages the demo with step between membership changes.
func run(ctx context.Context, step time.Duration) error {
	dir, err := os.MkdirTemp("", "cairn-consumer-group-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := cairn.Open(dir, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.CreateTopic(ctx, "orders", 6, nil); err != nil {
		return err
	}

	var processed atomic.Int64
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	members := map[string]*consumer.Consumer{}
	start := func(name string) error {
		c, err := consumer.New(b, &consumer.Options{
			Group: "billing", Topics: []string{"orders"},
			HeartbeatInterval: 50 * time.Millisecond, SessionTimeout: 3 * time.Second,
			OnAssigned: func(_ context.Context, _ *consumer.Consumer, tps []consumer.TopicPartition) {
				fmt.Printf("%-7s assigned %v\n", name, partitions(tps))
			},
			OnRevoked: func(_ context.Context, _ *consumer.Consumer, tps []consumer.TopicPartition) {
				fmt.Printf("%-7s revoked  %v\n", name, partitions(tps))
			},
		})
		if err != nil {
			return err
		}
		members[name] = c
		wg.Go(func() {
			for rec, err := range c.Records(ctx) {
				if err != nil {
					return // ctx done or consumer closed
				}
				_ = rec // a real consumer would bill the order here
				processed.Add(1)
			}
		})
		return nil
	}

	p, err := producer.New(ctx, b, nil)
	if err != nil {
		return err
	}
	var produced atomic.Int64
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			p.Produce(ctx, &producer.Record{Topic: "orders", Key: []byte(fmt.Sprint("customer-", i%40)), Value: []byte(fmt.Sprint("order ", i))},
				func(_ *producer.Record, err error) {
					if err == nil {
						produced.Add(1)
					}
				})
			time.Sleep(time.Millisecond)
		}
	})

	for _, name := range []string{"alice", "bob", "carol"} {
		fmt.Printf("--- %s joins\n", name)
		if err := start(name); err != nil {
			return err
		}
		time.Sleep(step)
	}
	fmt.Println("--- bob leaves")
	if err := members["bob"].Close(); err != nil {
		return err
	}
	time.Sleep(step)

	stop()
	if err := p.Close(context.Background()); err != nil {
		return err
	}
	wg.Wait()
	for _, name := range []string{"alice", "carol"} {
		if err := members[name].Close(); err != nil {
			return err
		}
	}
	// Close committed what each member processed: the group's lag shows
	// what is left for its next run.
	lag, err := b.Groups().Lag(context.Background(), "billing")
	if err != nil {
		return err
	}
	var left int64
	for _, l := range lag {
		left += l.Lag
	}
	fmt.Printf("produced %d, processed %d, left for the next run %d\n", produced.Load(), processed.Load(), left)
	return nil
}

func partitions(tps []consumer.TopicPartition) []int32 {
	out := make([]int32, len(tps))
	for i, tp := range tps {
		out[i] = tp.Partition
	}
	return out
}
