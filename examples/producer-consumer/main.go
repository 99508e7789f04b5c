// Command producer-consumer runs a producer and a consumer against one
// durable broker: the producer writes keyed orders to a 3-partition topic
// while the consumer tails the topic and tallies what arrives per partition.
//
//	go run ./examples/producer-consumer [-n 10000]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/producer"
	"golang.org/x/sync/errgroup"
)

func main() {
	n := flag.Int("n", 10_000, "records to produce")
	flag.Parse()
	if err := run(context.Background(), *n); err != nil {
		fmt.Fprintln(os.Stderr, "producer-consumer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n int) error {
	dir, err := os.MkdirTemp("", "cairn-producer-consumer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := cairn.Open(dir, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.CreateTopic(ctx, "orders", 3, nil); err != nil {
		return err
	}

	c, err := consumer.New(b, &consumer.Options{Topics: []string{"orders"}})
	if err != nil {
		return err
	}
	defer c.Close()

	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return produce(gctx, b, n) })
	perPartition := map[int32]int{}
	g.Go(func() error {
		for got := 0; got < n; {
			f, err := c.Poll(gctx)
			if err != nil {
				return err
			}
			if err := f.Err(); err != nil {
				return err
			}
			for _, r := range f.Records {
				perPartition[r.Partition]++
			}
			got += len(f.Records)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Printf("produced and consumed %d records in %v (%.0f records/s)\n",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	for p := int32(0); p < 3; p++ {
		fmt.Printf("  partition %d: %d records\n", p, perPartition[p])
	}
	return nil
}

// produce writes n orders for 50 customers; a customer's orders all land
// in one partition, in order.
func produce(ctx context.Context, b *cairn.Broker, n int) error {
	p, err := producer.New(ctx, b, &producer.Options{Linger: 2 * time.Millisecond})
	if err != nil {
		return err
	}
	errs := make(chan error, 1)
	for i := 0; i < n; i++ {
		rec := &producer.Record{
			Topic: "orders",
			Key:   []byte(fmt.Sprintf("customer-%02d", i%50)),
			Value: []byte(fmt.Sprintf(`{"order":%d,"amount":%d}`, i, 10+i%90)),
		}
		p.Produce(ctx, rec, func(_ *producer.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := p.Close(ctx); err != nil { // flushes
		return err
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
