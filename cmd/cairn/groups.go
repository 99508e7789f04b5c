package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cairnlog/cairn/group"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const groupsSynopsis = `VERB [ARGS] [--dir DIR | --bootstrap HOST:PORT]

verbs:
  list                                           list consumer groups (the default)
  describe G                                     show a group's state and members
  lag G                                          show a group's committed offsets and lag
  delete G                                       delete an empty group and its offsets
  reset G --topic T --to earliest|latest|N       set an empty group's offsets`

// runGroups is `cairn groups`.
func runGroups(ctx context.Context, args []string, io stdio) error {
	verb, args := subcommand(args, "list")
	fs := newFlags(io, "groups", groupsSynopsis)
	conn := addConnFlags(fs)
	topic := fs.String("topic", "", "`topic` whose offsets to reset (reset)")
	var to offsetSpec
	toSet := false
	fs.Func("to", "reset target: earliest, latest or an `offset` (reset)", func(s string) error {
		toSet = true
		return offsetFlag{&to}.Set(s)
	})
	pos, err := parse(fs, args)
	if err == nil {
		err = verbFlags(fs, verb, "reset", "topic", "to")
	}
	if err != nil {
		return err
	}
	var fn func(be backend) error
	switch verb {
	case "list":
		err = positional(fs, pos)
		fn = func(be backend) error { return listGroups(ctx, io, be) }
	case "describe":
		err = positional(fs, pos, "G")
		fn = func(be backend) error { return describeGroup(ctx, io, be, pos[0]) }
	case "lag":
		err = positional(fs, pos, "G")
		fn = func(be backend) error { return groupLag(ctx, io, be, pos[0]) }
	case "delete":
		err = positional(fs, pos, "G")
		fn = func(be backend) error { return deleteGroup(ctx, io, be, pos[0]) }
	case "reset":
		err = positional(fs, pos, "G")
		if err == nil && (*topic == "" || !toSet) {
			err = usagef(fs, "reset needs --topic and --to")
		}
		fn = func(be backend) error { return resetGroup(ctx, io, be, pos[0], *topic, to) }
	default:
		err = usagef(fs, "unknown verb %q", verb)
	}
	if err != nil {
		return err
	}
	return withBackend(conn, false, fn)
}

func listGroups(ctx context.Context, io stdio, be backend) error {
	gs, err := be.Groups(ctx)
	if err != nil {
		return err
	}
	tw := table(io.out, "GROUP\tSTATE\tPROTOCOL-TYPE")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Group, g.State, g.ProtocolType)
	}
	return tw.Flush()
}

func describeGroup(ctx context.Context, io stdio, be backend, id string) error {
	g, err := be.DescribeGroup(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.out, "group %s: %s, protocol %s/%s, %d members\n\n", g.Group, g.State,
		orNone(g.ProtocolType), orNone(g.Protocol), len(g.Members))
	tw := table(io.out, "MEMBER\tINSTANCE\tCLIENT\tASSIGNED")
	for _, m := range g.Members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, orNone(m.InstanceID), m.ClientID, formatTPs(m.Assigned))
	}
	return tw.Flush()
}

func groupLag(ctx context.Context, io stdio, be backend, id string) error {
	lags, err := be.Lag(ctx, id)
	if err != nil {
		return err
	}
	tw := table(io.out, "TOPIC\tPARTITION\tCOMMITTED\tHIGH-WATERMARK\tLAG")
	var total int64
	for _, l := range lags {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", l.Topic, l.Partition, l.Committed, l.HighWatermark, l.Lag)
		total += l.Lag
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(io.out, "\ntotal lag %d\n", total)
	return err
}

func deleteGroup(ctx context.Context, io stdio, be backend, id string) error {
	if err := be.DeleteGroup(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "deleted group %s\n", id)
	return nil
}

func resetGroup(ctx context.Context, io stdio, be backend, id, topic string, to offsetSpec) error {
	offs, err := be.ResetOffsets(ctx, id, topic, to)
	if err != nil {
		return err
	}
	parts := make([]int32, 0, len(offs))
	for p := range offs {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	tw := table(io.out, "TOPIC\tPARTITION\tNEW-OFFSET")
	for _, p := range parts {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", topic, p, offs[p])
	}
	return tw.Flush()
}

// table returns a tabwriter with header written.
func table(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatTPs prints partitions as "orders[0 1 2] users[3]".
func formatTPs(tps []group.TopicPartition) string {
	if len(tps) == 0 {
		return "-"
	}
	tps = slices.Clone(tps)
	slices.SortFunc(tps, func(a, b group.TopicPartition) int { return int(a.Partition - b.Partition) })
	by := map[string][]string{}
	var topics []string
	for _, tp := range tps {
		if _, ok := by[tp.Topic]; !ok {
			topics = append(topics, tp.Topic)
		}
		by[tp.Topic] = append(by[tp.Topic], fmt.Sprint(tp.Partition))
	}
	slices.Sort(topics)
	out := make([]string, len(topics))
	for i, t := range topics {
		out[i] = t + "[" + strings.Join(by[t], " ") + "]"
	}
	return strings.Join(out, " ")
}

// decodeAssignment decodes a consumer group member's assignment (Kafka's
// consumer protocol); other protocols show no partitions.
func decodeAssignment(protocolType string, b []byte) []group.TopicPartition {
	if protocolType != "consumer" || len(b) == 0 {
		return nil
	}
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(b); err != nil {
		return nil
	}
	return consumerPartitions(&a)
}
