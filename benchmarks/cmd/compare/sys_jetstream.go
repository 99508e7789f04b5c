package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jsPending is each partition's async publish window (nats.go's default).
const jsPending = 4000

// jetStreamSystem is a NATS server with JetStream embedded in the process
// (file storage, an in-process client connection, no network listener).
// A partition is a stream of its own with one subject, as NATS suggests
// for partitioned, ordered processing. Producing is PublishAsync with a
// bounded pending window per partition, then PublishAsyncComplete, as the
// nats.go docs recommend for throughput; consuming is an ordered consumer
// per stream (Consume with a callback). JetStream has no record key: the
// payload is the 16-byte key followed by the value.
type jetStreamSystem struct {
	ns   *server.Server
	nc   *nats.Conn
	js   []jetstream.JetStream // one context (one pending window) per partition
	desc string

	mu  sync.Mutex
	err error
}

func jsSubject(p int) string { return fmt.Sprintf("p.%d", p) }
func jsStream(p int) string  { return fmt.Sprintf("P%d", p) }

func openJetStream(ctx context.Context, dir string, partitions int, durable bool) (*jetStreamSystem, error) {
	ns, err := server.NewServer(&server.Options{
		JetStream:  true,
		StoreDir:   dir,
		DontListen: true,
		NoSigs:     true,
		NoLog:      true,
		SyncAlways: durable, // fsync every write; default: fsync every 2 minutes
	})
	if err != nil {
		return nil, err
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("jetstream: server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		ns.Shutdown()
		return nil, err
	}
	j := &jetStreamSystem{ns: ns, nc: nc}
	for p := range partitions {
		js, err := jetstream.New(nc,
			jetstream.WithPublishAsyncMaxPending(jsPending),
			jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) { j.fail(err) }))
		if err != nil {
			j.close()
			return nil, err
		}
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
			Name: jsStream(p), Subjects: []string{jsSubject(p)}, Storage: jetstream.FileStorage,
		}); err != nil {
			j.close()
			return nil, err
		}
		j.js = append(j.js, js)
	}
	j.desc = fmt.Sprintf("nats-server embedded, in-process connection, file storage, sync_always=%v (default: fsync every 2m); a stream per partition; PublishAsync with a pending window of %d per partition, then PublishAsyncComplete; ordered consumer per stream (Consume callback, default pull sizes)",
		durable, jsPending)
	return j, nil
}

func (j *jetStreamSystem) options() string { return j.desc }

func (j *jetStreamSystem) fail(err error) {
	j.mu.Lock()
	if j.err == nil {
		j.err = err
	}
	j.mu.Unlock()
}

func (j *jetStreamSystem) firstErr() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// payload is the key followed by the value: the message must stay
// untouched until acknowledged, so each gets its own.
func payload(key, value []byte) []byte {
	buf := make([]byte, 0, len(key)+len(value))
	return append(append(buf, key...), value...)
}

func (j *jetStreamSystem) produce(ctx context.Context, src *source, p, n int, stop <-chan struct{}) (int, error) {
	js, subj := j.js[p], jsSubject(p)
	sent := 0
	for ; sent < n && !stopped(stop, sent); sent++ {
		k, v := src.record(p, sent)
		// Durable publishing waits on one fsync per message: give a full
		// window time to drain instead of failing after 200ms.
		if _, err := js.PublishAsync(subj, payload(k, v), jetstream.WithStallWait(time.Minute)); err != nil {
			return sent, err
		}
	}
	if err := j.wait(ctx, js); err != nil {
		return sent, err
	}
	return sent, j.firstErr()
}

func (j *jetStreamSystem) wait(ctx context.Context, js jetstream.JetStream) error {
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// subscribe runs an ordered consumer on partition p's stream until ctx
// is done, calling each with every message's data; ready (if not nil) is
// closed once it consumes.
func (j *jetStreamSystem) subscribe(ctx context.Context, p int, ready chan<- struct{}, each func(data []byte)) error {
	cons, err := j.js[p].OrderedConsumer(ctx, jsStream(p), jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { each(m.Data()) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { j.fail(err) }))
	if err != nil {
		return err
	}
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	return nil
}

func (j *jetStreamSystem) consume(ctx context.Context, p, n int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var got atomic.Int64
	err := j.subscribe(ctx, p, nil, func(data []byte) {
		if len(data) < keySize {
			j.fail(fmt.Errorf("jetstream: short message of %d bytes", len(data)))
			cancel()
			return
		}
		touch(data[:keySize], data[keySize:])
		if got.Add(1) == int64(n) {
			cancel()
		}
	})
	if err != nil {
		return err
	}
	if err := j.firstErr(); err != nil {
		return err
	}
	if got.Load() < int64(n) {
		return fmt.Errorf("jetstream: consumed %d of %d: %w", got.Load(), n, context.Cause(ctx))
	}
	return nil
}

func (j *jetStreamSystem) tail(ctx context.Context, p int, ready chan<- struct{}, each func([]byte)) error {
	return j.subscribe(ctx, p, ready, func(data []byte) { each(data[keySize:]) })
}

func (j *jetStreamSystem) send(_ context.Context, p int, key, value []byte) error {
	_, err := j.js[p].PublishAsync(jsSubject(p), payload(key, value), jetstream.WithStallWait(time.Minute))
	return err
}

func (j *jetStreamSystem) flush(ctx context.Context) error {
	for _, js := range j.js {
		if err := j.wait(ctx, js); err != nil {
			return err
		}
	}
	return j.firstErr()
}

func (j *jetStreamSystem) close() error {
	if j.nc != nil {
		j.nc.Close()
	}
	j.ns.Shutdown()
	j.ns.WaitForShutdown()
	return nil
}
