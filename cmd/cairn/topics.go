package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/topic"
)

const topicsSynopsis = `VERB [ARGS] [--dir DIR | --bootstrap HOST:PORT]

verbs:
  list                                         list topics (the default)
  create NAME [--partitions N] [--config k=v]  create a topic
  describe NAME                                show partitions, offsets and config
  delete NAME                                  delete a topic and its records`

// runTopics is `cairn topics`.
func runTopics(ctx context.Context, args []string, io stdio) error {
	verb, args := subcommand(args, "list")
	fs := newFlags(io, "topics", topicsSynopsis)
	conn := addConnFlags(fs)
	partitions := fs.Int("partitions", 1, "partition `count` (create)")
	cfg := configFlag{}
	fs.Var(cfg, "config", "topic config `key=value` (create; repeatable)")
	pos, err := parse(fs, args)
	if err == nil {
		err = verbFlags(fs, verb, "create", "partitions", "config")
	}
	if err != nil {
		return err
	}
	var fn func(be backend) error
	switch verb {
	case "list":
		err = positional(fs, pos)
		fn = func(be backend) error { return listTopics(ctx, io, be) }
	case "create":
		err = positional(fs, pos, "NAME")
		if err == nil && (*partitions < 1 || *partitions > topic.MaxPartitions) {
			// Kafka's request carries an int32, and -1 asks for the
			// server's default: either would not be the count printed.
			err = usagef(fs, "--partitions %d: want 1 to %d", *partitions, topic.MaxPartitions)
		}
		fn = func(be backend) error { return createTopic(ctx, io, be, pos[0], *partitions, cfg) }
	case "describe":
		err = positional(fs, pos, "NAME")
		fn = func(be backend) error { return describeTopic(ctx, io, be, pos[0]) }
	case "delete":
		err = positional(fs, pos, "NAME")
		fn = func(be backend) error { return deleteTopic(ctx, io, be, pos[0]) }
	default:
		err = usagef(fs, "unknown verb %q", verb)
	}
	if err != nil {
		return err
	}
	return withBackend(conn, verb == "create", fn)
}

// withBackend opens the backend, runs fn and closes the backend. A data
// directory that create made is removed again if fn fails.
func withBackend(conn *connFlags, create bool, fn func(backend) error) error {
	created := ""
	if create && conn.bootstrap == "" {
		created = missingRoot(conn.dir)
		if beforeOpen != nil {
			beforeOpen(conn.dir)
		}
	}
	be, err := conn.open(create)
	if errors.Is(err, cairn.ErrLocked) {
		return err // another broker made the directory since, and holds it
	}
	if err != nil {
		return errors.Join(err, removeCreated(created))
	}
	err = fn(be)
	if err != nil {
		created = ours(created, conn.dir, be.Topics)
	}
	if cerr := be.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		err = errors.Join(err, removeCreated(created))
	}
	return err
}

func listTopics(ctx context.Context, io stdio, be backend) error {
	names, err := be.Topics(ctx)
	for _, n := range names {
		fmt.Fprintln(io.out, n)
	}
	return err
}

func createTopic(ctx context.Context, io stdio, be backend, name string, partitions int, cfg configFlag) error {
	if err := be.CreateTopic(ctx, name, partitions, cfg); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "created topic %s with %d partitions\n", name, partitions)
	return nil
}

func deleteTopic(ctx context.Context, io stdio, be backend, name string) error {
	if err := be.DeleteTopic(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "deleted topic %s\n", name)
	return nil
}

func describeTopic(ctx context.Context, io stdio, be backend, name string) error {
	t, err := be.DescribeTopic(ctx, name)
	if err != nil {
		return err
	}
	printTopic(io, t)
	return nil
}

func printTopic(io stdio, t topicInfo) {
	fmt.Fprintf(io.out, "topic %s", t.Name)
	if t.ID != "" {
		fmt.Fprintf(io.out, " (id %s)", t.ID)
	}
	fmt.Fprintf(io.out, ", %d partitions\n\n", len(t.Partitions))
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tLOG-START\tHIGH-WATERMARK")
	for _, p := range t.Partitions {
		fmt.Fprintf(tw, "%d\t%d\t%d\n", p.Partition, p.LogStart, p.HighWatermark)
	}
	tw.Flush()
	fmt.Fprintln(io.out, "\nCONFIG")
	for _, c := range t.Config {
		note := ""
		if c.IsDefault {
			note = "  (default)"
		}
		fmt.Fprintf(io.out, "  %s=%s%s\n", c.Key, c.Value, note)
	}
}

// configFlag collects repeated key=value flags.
type configFlag map[string]string

func (c configFlag) String() string {
	var kv []string
	for k, v := range c {
		kv = append(kv, k+"="+v)
	}
	return strings.Join(kv, ",")
}

func (c configFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("config %q: want key=value", s)
	}
	c[k] = v
	return nil
}
