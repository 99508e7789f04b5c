package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/producer"
)

// cairnMaxPollRecords lets one Poll return what one fetch decodes (a 1 MiB
// fetch is about 8,000 records of 100 bytes); with the default of 500 a
// Poll decodes a whole batch and keeps 500 of its records.
const cairnMaxPollRecords = 10_000

// cairnSystem is Cairn as its README shows it: a Broker, one Producer
// used with Produce and promises, and a Consumer per partition that
// recycles each Poll's records once it has used them.
type cairnSystem struct {
	b    *cairn.Broker
	prod *producer.Producer
	opts string

	mu  sync.Mutex
	err error // first failed promise
}

func openCairn(ctx context.Context, dir string, partitions int, durable, lowLatency bool) (*cairnSystem, error) {
	bo := &cairn.Options{Durability: cairn.NoSync}
	if durable {
		bo.Durability = cairn.SyncAlways
	}
	b, err := cairn.Open(dir, bo)
	if err != nil {
		return nil, err
	}
	if err := b.CreateTopic(ctx, topicName, partitions, nil); err != nil {
		b.Close()
		return nil, err
	}
	// The defaults: linger 0 (a batch goes as soon as the previous one of
	// its partition is appended), no compression, idempotence on.
	prod, err := producer.New(ctx, b, nil)
	if err != nil {
		b.Close()
		return nil, err
	}
	_ = lowLatency // the defaults are already the low-latency configuration
	return &cairnSystem{b: b, prod: prod, opts: fmt.Sprintf(
		"Durability=%s; producer defaults (Produce with promises, Linger 0, BatchBytes 128 KiB, no compression, idempotent); consumer per partition (Poll, Fetches.Recycle), MaxPollRecords %d",
		bo.Durability, cairnMaxPollRecords)}, nil
}

func (c *cairnSystem) options() string { return c.opts }

func (c *cairnSystem) promise(acked *atomic.Int64) func(*producer.Record, error) {
	return func(_ *producer.Record, err error) {
		if err != nil {
			c.mu.Lock()
			if c.err == nil {
				c.err = err
			}
			c.mu.Unlock()
			return
		}
		acked.Add(1)
	}
}

func (c *cairnSystem) firstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *cairnSystem) produce(ctx context.Context, src *source, p, n int, stop <-chan struct{}) (int, error) {
	var acked atomic.Int64
	promise := c.promise(&acked)
	sent := 0
	for ; sent < n && !stopped(stop, sent); sent++ {
		k, v := src.record(p, sent)
		c.prod.Produce(ctx, &producer.Record{Topic: topicName, Key: k, Value: v}, promise)
	}
	if err := c.prod.Flush(ctx); err != nil {
		return sent, err
	}
	if err := c.firstErr(); err != nil {
		return sent, err
	}
	if got := acked.Load(); got != int64(sent) {
		return sent, fmt.Errorf("cairn: %d of %d records acknowledged", got, sent)
	}
	return sent, nil
}

func (c *cairnSystem) newConsumer(p int) (*consumer.Consumer, error) {
	return consumer.New(c.b, &consumer.Options{
		Partitions:     map[string][]int32{topicName: {int32(p)}},
		Start:          consumer.Earliest(),
		MaxPollRecords: cairnMaxPollRecords,
	})
}

func (c *cairnSystem) consume(ctx context.Context, p, n int) error {
	cons, err := c.newConsumer(p)
	if err != nil {
		return err
	}
	defer cons.Close()
	got := 0
	for got < n {
		f, err := cons.Poll(ctx)
		if err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		for _, r := range f.Records {
			touch(r.Key, r.Value)
		}
		got += len(f.Records)
		f.Recycle()
	}
	return nil
}

func (c *cairnSystem) tail(ctx context.Context, p int, ready chan<- struct{}, each func([]byte)) error {
	cons, err := c.newConsumer(p)
	if err != nil {
		return err
	}
	defer cons.Close()
	close(ready)
	for {
		f, err := cons.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, r := range f.Records {
			each(r.Value)
		}
		f.Recycle()
	}
}

func (c *cairnSystem) send(ctx context.Context, _ int, key, value []byte) error {
	c.prod.Produce(ctx, &producer.Record{Topic: topicName, Key: key, Value: value}, func(_ *producer.Record, err error) {
		if err != nil {
			c.mu.Lock()
			if c.err == nil {
				c.err = err
			}
			c.mu.Unlock()
		}
	})
	return nil
}

func (c *cairnSystem) flush(ctx context.Context) error {
	return errors.Join(c.prod.Flush(ctx), c.firstErr())
}

func (c *cairnSystem) close() error {
	return errors.Join(c.prod.Close(context.Background()), c.b.Close())
}

// stopped reports, every 1,000 records, whether stop is closed.
func stopped(stop <-chan struct{}, sent int) bool {
	if sent%1000 != 0 || stop == nil {
		return false
	}
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// sink keeps touch's work from being optimized away.
var sink atomic.Uint64

// touch reads a record's key and value, as a consumer that uses them would.
func touch(key, value []byte) {
	var s uint64
	if len(key) > 0 {
		s += uint64(key[0])
	}
	if len(value) > 0 {
		s += uint64(value[len(value)-1])
	}
	s += uint64(len(key) + len(value))
	if s == 0 {
		sink.Add(1)
	}
}
