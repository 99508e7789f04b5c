package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/kafka"
)

// serveFlags are `cairn serve`'s flags.
type serveFlags struct {
	dir, listen string
	durability  durabilityFlag
	kafka       kafka.Options
}

func newServeFlags(io stdio) (*flag.FlagSet, *serveFlags) {
	fs := newFlags(io, "serve", "[--dir DIR] [--listen HOST:PORT] [flags]")
	f := &serveFlags{}
	fs.StringVar(&f.dir, "dir", "./data", "data `directory` (created if missing)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9092", "`host:port` of the Kafka listener")
	fs.StringVar(&f.kafka.AdvertisedAddr, "advertise", "", "`host:port` clients are told to connect to (default the listener's address)")
	fs.BoolVar(&f.kafka.AutoCreateTopics, "auto-create-topics", false, "create unknown topics that clients ask for")
	fs.IntVar(&f.kafka.DefaultPartitions, "default-partitions", 1, "partition `count` of auto-created topics, and of topics a CreateTopics request creates with -1 (the broker's default)")
	fs.Var(&f.durability, "durability", "when appends are acknowledged: sync (after fsync), interval (fsync every 100ms) or none")
	return fs, f
}

// runServe runs a broker with a Kafka listener until ctx is done (SIGINT
// or SIGTERM in main), then stops the listener and closes the broker,
// which flushes and closes the store.
func runServe(ctx context.Context, args []string, io stdio) error {
	return serve(ctx, args, io, nil)
}

// serve is runServe; listening, if not nil, is told the listener's
// address once clients can connect.
func serve(ctx context.Context, args []string, io stdio, listening func(net.Addr)) error {
	fs, f := newServeFlags(io)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := positional(fs, pos); err != nil {
		return err
	}
	if f.kafka.DefaultPartitions < 1 {
		return usagef(fs, "--default-partitions %d: at least 1", f.kafka.DefaultPartitions)
	}
	if err := f.kafka.Validate(); err != nil {
		// Before the broker opens and "serving" is printed.
		return usagef(fs, "--advertise %q: want host:port with a routable host and a port from 1 to 65535", f.kafka.AdvertisedAddr)
	}
	created := missingRoot(f.dir) // removed again if serve cannot start
	if beforeOpen != nil {
		beforeOpen(f.dir)
	}
	b, err := cairn.Open(f.dir, &cairn.Options{Durability: f.durability.d})
	if errors.Is(err, cairn.ErrLocked) {
		return fmt.Errorf("%w: %s; is another `cairn serve` running?", cairn.ErrLocked, f.dir)
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		created = ours(created, f.dir, b.Topics)
		return errors.Join(err, b.Close(), removeCreated(created))
	}
	// The durability as --durability names it, not cairn.Durability's
	// own name (sync-always), which no flag value is.
	fmt.Fprintf(io.err, "cairn: serving Kafka on %s, data in %s (durability %s)\n", ln.Addr(), f.dir, f.durability.String())
	if listening != nil {
		listening(ln.Addr())
	}
	return errors.Join(serveUntil(ctx, kafka.NewServer(b, &f.kafka), ln), b.Close())
}

// serveUntil serves ln until ctx is done or the listener fails.
func serveUntil(ctx context.Context, srv *kafka.Server, ln net.Listener) error {
	defer ln.Close() // already closed unless Serve never took it
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		srv.Close()
		if err := <-done; !errors.Is(err, cairn.ErrClosed) {
			return err // Serve returns ErrClosed if Close came first
		}
		return nil
	case err := <-done:
		srv.Close()
		return err
	}
}

// durabilityFlag is a flag.Value for cairn.Durability.
type durabilityFlag struct{ d cairn.Durability }

func (f *durabilityFlag) String() string {
	switch f.d {
	case cairn.SyncInterval:
		return "interval"
	case cairn.NoSync:
		return "none"
	}
	return "sync"
}

func (f *durabilityFlag) Set(s string) error {
	switch s {
	case "sync", "always":
		f.d = cairn.SyncAlways
	case "interval":
		f.d = cairn.SyncInterval
	case "none", "nosync":
		f.d = cairn.NoSync
	default:
		return fmt.Errorf("durability %q: want sync, interval or none", s)
	}
	return nil
}
