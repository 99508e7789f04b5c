package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kfakeSystem is franz-go's in-memory fake Kafka cluster driven by the kgo
// client, as franz-go's docs show: one client producing with Produce and
// promises then Flush; a client per partition consuming with PollFetches.
// kfake keeps everything in memory (no DataDir), so it has no durable mode
// and nothing on disk.
type kfakeSystem struct {
	cluster *kfake.Cluster
	prod    *kgo.Client
	opts    []kgo.Opt
	desc    string

	mu  sync.Mutex
	err error
}

func openKfake(_ context.Context, partitions int, lowLatency bool) (*kfakeSystem, error) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(partitions), topicName))
	if err != nil {
		return nil, err
	}
	// The records are incompressible: kgo's default (snappy) would only
	// cost CPU, and Cairn produces uncompressed by default too.
	linger := 10 * time.Millisecond // kgo's default
	if lowLatency {
		linger = 0
	}
	opts := []kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}
	prod, err := kgo.NewClient(append(opts,
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(linger),
		kgo.DefaultProduceTopic(topicName))...)
	if err != nil {
		cluster.Close()
		return nil, err
	}
	return &kfakeSystem{cluster: cluster, prod: prod, opts: opts, desc: fmt.Sprintf(
		"1 in-memory broker over loopback TCP; kgo defaults (acks=all, idempotent, key partitioner) with ProducerLinger(%v), NoCompression; Produce with promises + Flush; a consuming client per partition (PollFetches, WithPools and Record.Recycle)",
		linger)}, nil
}

func (k *kfakeSystem) options() string { return k.desc }

func (k *kfakeSystem) fail(err error) {
	k.mu.Lock()
	if k.err == nil {
		k.err = err
	}
	k.mu.Unlock()
}

func (k *kfakeSystem) firstErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

func (k *kfakeSystem) produce(ctx context.Context, src *source, p, n int, stop <-chan struct{}) (int, error) {
	var acked atomic.Int64
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			k.fail(err)
			return
		}
		acked.Add(1)
	}
	sent := 0
	for ; sent < n && !stopped(stop, sent); sent++ {
		key, v := src.record(p, sent)
		k.prod.Produce(ctx, &kgo.Record{Key: key, Value: v}, promise)
	}
	if err := k.prod.Flush(ctx); err != nil {
		return sent, err
	}
	if err := k.firstErr(); err != nil {
		return sent, err
	}
	if got := acked.Load(); got != int64(sent) {
		return sent, fmt.Errorf("kfake: %d of %d records acknowledged", got, sent)
	}
	return sent, nil
}

func (k *kfakeSystem) newConsumer(p int) (*kgo.Client, error) {
	return kgo.NewClient(append(k.opts, kgo.WithPools(new(kgoRecordPool)), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topicName: {int32(p): kgo.NewOffset().AtStart()},
	}))...)
}

// kgoRecordPool is kgo's PoolRecords: with it, and each record recycled
// once used, kgo decodes fetched records into recycled slices, as Cairn's
// consumer does with Fetches.Recycle.
type kgoRecordPool struct{ p sync.Pool }

func (k *kgoRecordPool) GetRecords(n int) []kgo.Record {
	if s, ok := k.p.Get().(*[]kgo.Record); ok && cap(*s) >= n {
		return (*s)[:0]
	}
	return make([]kgo.Record, 0, n)
}

func (k *kgoRecordPool) PutRecords(s []kgo.Record) { k.p.Put(&s) }

func (k *kfakeSystem) consume(ctx context.Context, p, n int) error {
	cl, err := k.newConsumer(p)
	if err != nil {
		return err
	}
	defer cl.Close()
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			touch(r.Key, r.Value)
			got++
			r.Recycle()
		})
	}
	return nil
}

func (k *kfakeSystem) tail(ctx context.Context, p int, ready chan<- struct{}, each func([]byte)) error {
	cl, err := k.newConsumer(p)
	if err != nil {
		return err
	}
	defer cl.Close()
	close(ready)
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err := fs.Err0(); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			each(r.Value)
			r.Recycle()
		})
	}
}

func (k *kfakeSystem) send(ctx context.Context, _ int, key, value []byte) error {
	k.prod.Produce(ctx, &kgo.Record{Key: key, Value: value}, func(_ *kgo.Record, err error) {
		if err != nil {
			k.fail(err)
		}
	})
	return nil
}

func (k *kfakeSystem) flush(ctx context.Context) error {
	return errors.Join(k.prod.Flush(ctx), k.firstErr())
}

func (k *kfakeSystem) close() error {
	k.prod.Close()
	k.cluster.Close()
	return nil
}
