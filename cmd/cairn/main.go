// Command cairn runs a standalone Cairn broker with a Kafka listener and
// administers topics, records and consumer groups, either directly in a
// data directory or through a running listener (--bootstrap).
//
// Usage:
//
//	cairn serve --dir ./data --listen 127.0.0.1:9092
//	cairn topics create orders --partitions 3 --dir ./data
//	echo hello | cairn produce orders --bootstrap 127.0.0.1:9092
//	cairn consume orders --from earliest --bootstrap 127.0.0.1:9092
//	cairn groups lag billing --bootstrap 127.0.0.1:9092
//
// Run "cairn help" or "cairn COMMAND -h" for every flag.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // a second Ctrl-C kills at once
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}
