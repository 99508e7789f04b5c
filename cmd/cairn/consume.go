package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnlog/cairn"
)

const consumeSynopsis = `TOPIC [--from earliest|latest|N] [--group G] [-n COUNT] [--follow] [--format FMT]
       [--dir DIR | --bootstrap HOST:PORT]

Without --follow, records up to the end of each partition as it was at the
start are printed, then the command exits; in a group, only of the partitions
the group gives this member. A group's committed offsets take precedence over
--from (unless retention deleted them); the offsets of the printed records
are committed. A failed write to stdout ends the command with an error,
and only what was written is committed.`

type consumeFlags struct {
	from   offsetSpec
	group  string
	count  int
	follow bool
	format string
}

// runConsume is `cairn consume TOPIC`.
func runConsume(ctx context.Context, args []string, io stdio) error {
	fs := newFlags(io, "consume", consumeSynopsis)
	conn := addConnFlags(fs)
	var f consumeFlags
	fs.Var(offsetFlag{&f.from}, "from", "where to start: earliest, latest or an `offset`")
	fs.StringVar(&f.group, "group", "", "consume as a member of consumer `group` G")
	fs.IntVar(&f.count, "n", 0, "exit after `COUNT` records (0: no limit)")
	fs.BoolVar(&f.follow, "follow", false, "keep waiting for new records (until Ctrl-C)")
	fs.StringVar(&f.format, "format", `%v\n`, "output `format`: %t topic, %p partition, %o offset, %k key, %v value,\n%T timestamp (ms), %h headers, %% percent; \\n newline, \\t tab")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := positional(fs, pos, "TOPIC"); err != nil {
		return err
	}
	if f.count < 0 {
		return usagef(fs, "negative -n %d", f.count)
	}
	if f.follow && conn.bootstrap == "" {
		// Only one process can open a directory, so nothing else could
		// append while this command has it open.
		return usagef(fs, "--follow needs --bootstrap (a running `cairn serve`)")
	}
	return withBackend(conn, false, func(be backend) error { return consume(ctx, io, be, pos[0], f) })
}

// consume prints a topic's records as the flags say.
func consume(ctx context.Context, io stdio, be backend, topic string, f consumeFlags) error {
	var ends map[int32]int64 // without --follow: where each partition ends
	if !f.follow {
		var err error
		if ends, err = pendingEnds(ctx, be, topic, f); err != nil || len(ends) == 0 {
			return err
		}
	}
	src, err := be.Consumer(ctx, sourceOptions{Topic: topic, Group: f.group, From: f.from})
	if err != nil {
		return err
	}
	c := &consumption{io: io, be: be, src: src, topic: topic, format: compileFormat(f.format), limit: f.count, ends: ends, group: f.group}
	err = c.run(ctx)
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil // Ctrl-C is how --follow ends, and it cuts the rest short
	}
	return err
}

// pendingEnds returns, for each partition with records left to print,
// the high watermark at the start.
func pendingEnds(ctx context.Context, be backend, topic string, f consumeFlags) (map[int32]int64, error) {
	parts, err := be.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	committed := map[int32]int64{}
	if f.group != "" {
		if committed, err = be.Committed(ctx, f.group, topic); err != nil {
			return nil, err
		}
	}
	ends := map[int32]int64{}
	for _, p := range parts {
		start, ok := committed[p.Partition]
		if !ok || start < p.LogStart {
			// No commit, or one retention has since deleted: the
			// consumer starts where --from says, as Kafka clients
			// reset to auto.offset.reset.
			start = f.from.resolve(p.LogStart, p.HighWatermark)
		}
		if start < p.HighWatermark {
			ends[p.Partition] = p.HighWatermark
		}
	}
	return ends, nil
}

// consumption is one run of consume.
type consumption struct {
	io     stdio
	be     backend
	src    source
	topic  string
	format recordFormat
	limit  int             // 0: none
	ends   map[int32]int64 // nil with --follow; emptied as partitions end
	group  string
	n      int
	buf    []byte
}

// run polls and prints until the limit, the ends, or an error.
func (c *consumption) run(ctx context.Context) error {
	for {
		recs, err := c.poll(ctx)
		if errors.Is(err, errIdle) {
			// Nothing for a while: fail if the listener is gone (the
			// client retries fetches for ever), and drop the partitions
			// whose records left to print were deleted since.
			if err := c.dropDeleted(ctx); err != nil || len(c.ends) == 0 {
				return err
			}
			if c.group == "" {
				continue // else wait on
			}
			if err := c.dropCommitted(ctx); err != nil || len(c.ends) == 0 {
				return err
			}
			if done, err := c.othersHoldTheRest(ctx); done || err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		next, werr := c.print(recs)
		if c.group != "" && len(next) > 0 {
			// What was printed is committed, also after a Ctrl-C that
			// came meanwhile: with ctx, the commit failed and its error
			// passed for the Ctrl-C. (A second Ctrl-C kills at once.)
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), retryTimeout)
			err := c.src.Commit(cctx, next)
			cancel()
			if err != nil {
				return errors.Join(werr, fmt.Errorf("commit: %w", err))
			}
		}
		if werr != nil {
			return fmt.Errorf("write: %w", werr) // only what was written is committed
		}
		if c.limit > 0 && c.n >= c.limit || c.ends != nil && len(c.ends) == 0 {
			return nil
		}
	}
}

// idleCheck is how long a consumer without --follow polls in vain before
// it looks again: whether the listener is still there (a Kafka client
// retries fetches for ever), and, in a group, whether the partitions left
// to print were committed to their ends or are another member's.
const idleCheck = time.Second

// errIdle is a poll that found nothing within idleCheck.
var errIdle = errors.New("idle")

// poll polls; without --follow, it returns errIdle after idleCheck
// without records.
func (c *consumption) poll(ctx context.Context) ([]*cairn.Record, error) {
	if c.ends == nil {
		return c.src.Poll(ctx)
	}
	pctx, cancel := context.WithTimeout(ctx, idleCheck)
	defer cancel()
	recs, err := c.src.Poll(pctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, errIdle
	}
	return recs, err
}

// dropDeleted drops the partitions left to print whose log start has
// reached their end: retention or DeleteRecords removed the records left,
// so the consumer, reset to the log start, would wait for ever.
func (c *consumption) dropDeleted(ctx context.Context) error {
	parts, err := c.be.Partitions(ctx, c.topic)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if end, ok := c.ends[p.Partition]; ok && p.LogStart >= end {
			delete(c.ends, p.Partition)
		}
	}
	return nil
}

// dropCommitted drops the partitions left to print whose records another
// member of the group has printed and committed since the start: this
// member fetches from the committed offset, so it would wait for ever.
func (c *consumption) dropCommitted(ctx context.Context) error {
	committed, err := c.be.Committed(ctx, c.group, c.topic)
	if err != nil {
		return err
	}
	for p, end := range c.ends {
		if off, ok := committed[p]; ok && off >= end {
			delete(c.ends, p)
		}
	}
	return nil
}

// othersHoldTheRest reports whether every partition left to print is
// assigned to another member of the group, which prints it: a group
// shares the partitions, so this member is done with its own.
func (c *consumption) othersHoldTheRest(ctx context.Context) (bool, error) {
	mine, joined := c.src.Assigned()
	if !joined {
		return false, nil
	}
	for p := range c.ends {
		if mine[p] {
			return false, nil
		}
	}
	g, err := c.be.DescribeGroup(ctx, c.group)
	if err != nil || g.State != "Stable" {
		return false, err
	}
	held := map[int32]bool{}
	for _, m := range g.Members {
		for _, tp := range m.Assigned {
			if tp.Topic == c.topic {
				held[tp.Partition] = true
			}
		}
	}
	for p := range c.ends {
		if !held[p] {
			return false, nil // between owners: it may come to this member
		}
	}
	return true, nil
}

// print prints recs (within the limit and the ends) and returns the next
// offset of each partition printed, up to a failed write and its error.
func (c *consumption) print(recs []*cairn.Record) (map[int32]int64, error) {
	next := map[int32]int64{}
	for _, r := range recs {
		if c.limit > 0 && c.n >= c.limit {
			break
		}
		if c.ends != nil {
			end, ok := c.ends[r.Partition]
			if !ok {
				continue // done with, or nothing to print
			}
			if r.Offset >= end {
				// Appended after the start: not ours to print. The
				// partition is done: what was below its end and not
				// seen was compacted away, and never comes.
				delete(c.ends, r.Partition)
				continue
			}
			if r.Offset+1 >= end {
				delete(c.ends, r.Partition)
			}
		}
		c.buf = c.format(c.buf[:0], r)
		if _, err := c.io.out.Write(c.buf); err != nil {
			return next, err
		}
		next[r.Partition] = r.Offset + 1
		c.n++
	}
	return next, nil
}
