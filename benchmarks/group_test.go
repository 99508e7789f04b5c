package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
)

// The group of BenchmarkRebalance: 8 members sharing a topic of 48
// partitions (6 each), joined by a 9th.
const (
	groupTopic      = "grp"
	groupPartitions = 48
	groupMembers    = 8
	groupHeartbeat  = 5 * time.Millisecond
	// groupPollEvery is how often the benchmark asks DescribeGroup whether
	// the group has settled: the resolution of ns/rebalance.
	groupPollEvery = 100 * time.Microsecond
	groupTimeout   = time.Minute
)

// BenchmarkRebalance measures how long a cooperative-sticky consumer group
// takes to make room for a new member. Eight consumer.Consumers (Group
// set, cooperative-sticky then range, heartbeat every 5ms, auto-commit on,
// each polling in its own goroutine) share a 48-partition topic on a
// broker with the default sync-always durability, and are Stable with 6
// partitions each. Each iteration starts a 9th consumer and measures the
// time from its first Poll until DescribeGroup shows the group Stable with
// all 9 members, every partition assigned once and each member at its
// fair share (5 or 6). Cooperative rebalancing takes two generations: in
// the first the members give up the partitions that must move, in the
// second those are assigned to the new member.
//
// Reported: ns/rebalance (mean), generations/rebalance, partitions-moved
// (partitions whose owner changed) and new-member-partitions. The two
// should be equal: a sticky assignment moves no partition between old
// members. extra-moves/rebalance counts the partitions that did, and the
// first such rebalance is logged. The 9th member then closes (leaving the
// group), untimed in ns/rebalance but reported as ns/leave, the time until
// the 8 are back at 6 partitions each. ns/op covers both.
func BenchmarkRebalance(b *testing.B) {
	br, _ := openBroker(b, cairn.SyncAlways, groupPartitions, groupTopic)
	ctx := context.Background()
	co := br.Groups()
	var members []*groupMember
	b.Cleanup(func() {
		for _, m := range members {
			m.close()
		}
	})
	for range groupMembers {
		m, err := startMember(br)
		if err != nil {
			b.Fatal(err)
		}
		members = append(members, m)
	}
	before, err := waitBalanced(ctx, co, groupMembers)
	if err != nil {
		b.Fatal(err)
	}
	var join, leave time.Duration
	var gens, moved, taken, rounds int
	logged := false
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		m, err := startMember(br)
		if err != nil {
			b.Fatal(err)
		}
		after, err := waitBalanced(ctx, co, groupMembers+1)
		if err != nil {
			b.Fatal(err)
		}
		join += time.Since(start)
		mv, tk := movedTo(before, after)
		if mv != tk && !logged {
			b.Logf("rebalance %d: %d partitions moved, the new member took %d\nbefore: %s\nafter: %s",
				rounds, mv, tk, describe(before), describe(after))
			logged = true
		}
		gens += int(after.Generation - before.Generation)
		moved += mv
		taken += tk
		start = time.Now()
		if err := m.close(); err != nil {
			b.Fatal(err)
		}
		if before, err = waitBalanced(ctx, co, groupMembers); err != nil {
			b.Fatal(err)
		}
		leave += time.Since(start)
		rounds++
	}
	n := float64(rounds)
	b.ReportMetric(float64(join.Nanoseconds())/n, "ns/rebalance")
	b.ReportMetric(float64(gens)/n, "generations/rebalance")
	b.ReportMetric(float64(moved)/n, "partitions-moved")
	b.ReportMetric(float64(taken)/n, "new-member-partitions")
	b.ReportMetric(float64(moved-taken)/n, "extra-moves/rebalance")
	b.ReportMetric(float64(leave.Nanoseconds())/n, "ns/leave")
}

// groupMember is a group consumer polling in its own goroutine until it
// is closed.
type groupMember struct {
	c    *consumer.Consumer
	done chan error
	once sync.Once
	err  error
}

// startMember starts a member of the benchmark group; its first Poll
// (which joins the group) is made before startMember returns or soon
// after, on the member's goroutine.
func startMember(br *cairn.Broker) (*groupMember, error) {
	c, err := consumer.New(br, &consumer.Options{
		Topics: []string{groupTopic}, Group: "bench",
		HeartbeatInterval: groupHeartbeat, SessionTimeout: 30 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	m := &groupMember{c: c, done: make(chan error, 1)}
	go func() {
		for {
			if _, err := c.Poll(context.Background()); err != nil {
				// Close makes a waiting Poll return ErrClosed, or (a
				// race in the consumer) context.Canceled.
				if errors.Is(err, cairn.ErrClosed) || errors.Is(err, context.Canceled) {
					err = nil
				}
				m.done <- err
				return
			}
		}
	}()
	return m, nil
}

// close closes the consumer (it leaves the group) and returns the error
// that ended its polling, if any.
func (m *groupMember) close() error {
	m.once.Do(func() {
		m.err = errors.Join(m.c.Close(), <-m.done)
	})
	return m.err
}

// waitBalanced polls DescribeGroup until the group is Stable with n
// members, every partition of groupTopic assigned exactly once, and every
// member at its fair share, and returns that description.
func waitBalanced(ctx context.Context, co *group.Coordinator, n int) (group.Description, error) {
	deadline := time.Now().Add(groupTimeout)
	var last group.Description
	for time.Now().Before(deadline) {
		d, err := co.DescribeGroup(ctx, "bench")
		if err != nil && !errors.Is(err, cairn.ErrUnknownGroup) {
			return d, err
		}
		if err == nil {
			last = d
			if ok, err := balanced(d, n); err != nil || ok {
				return d, err
			}
		}
		time.Sleep(groupPollEvery)
	}
	return last, fmt.Errorf("group not balanced over %d members after %v: %s", n, groupTimeout, describe(last))
}

func balanced(d group.Description, n int) (bool, error) {
	if d.State != group.Stable || len(d.Members) != n {
		return false, nil
	}
	owners, err := owners(d)
	if err != nil || len(owners) != groupPartitions {
		return false, err
	}
	lo, hi := groupPartitions/n, (groupPartitions+n-1)/n
	counts := map[string]int{}
	for _, m := range owners {
		counts[m]++
	}
	for _, m := range d.Members {
		if c := counts[m.MemberID]; c < lo || c > hi {
			return false, nil
		}
	}
	return true, nil
}

// owners maps each assigned partition of groupTopic to its member; a
// partition assigned twice is an error.
func owners(d group.Description) (map[int32]string, error) {
	out := map[int32]string{}
	for _, m := range d.Members {
		tps, err := group.DecodeAssignment(m.Assignment)
		if err != nil {
			return nil, err
		}
		for _, tp := range tps {
			if prev, dup := out[tp.Partition]; dup {
				return nil, fmt.Errorf("partition %d assigned to %s and %s", tp.Partition, prev, m.MemberID)
			}
			out[tp.Partition] = m.MemberID
		}
	}
	return out, nil
}

// movedTo returns how many partitions changed owner from before to after,
// and how many the member that is in after only owns.
func movedTo(before, after group.Description) (moved, taken int) {
	was, _ := owners(before)
	now, _ := owners(after)
	old := map[string]bool{}
	for _, m := range before.Members {
		old[m.MemberID] = true
	}
	for p, m := range now {
		if was[p] != m {
			moved++
		}
		if !old[m] {
			taken++
		}
	}
	return moved, taken
}

func describe(d group.Description) string {
	s := fmt.Sprintf("state %v, generation %d:", d.State, d.Generation)
	for _, m := range d.Members {
		tps, _ := group.DecodeAssignment(m.Assignment)
		s += fmt.Sprintf(" %s:%d", m.MemberID, len(tps))
	}
	return s
}

// BenchmarkCommit measures committing one partition's offset, one commit
// at a time, under no-sync and sync-always durability, through
// consumer.Consumer.Commit (api=consumer: a member of a one-member group
// commits a new offset of its partition and waits) and through the
// group.Coordinator directly (api=coordinator: CommitOffsets with that
// member's id and generation). Each commit builds its own offsets map, as
// a caller would. Reported: commits/s.
func BenchmarkCommit(b *testing.B) {
	for _, d := range durabilities {
		for _, api := range []string{"consumer", "coordinator"} {
			b.Run(fmt.Sprintf("%s/api=%s", d.name, api), func(b *testing.B) {
				benchCommit(b, d.cairn, api)
			})
		}
	}
}

func benchCommit(b *testing.B, d cairn.Durability, api string) {
	br, _ := openBroker(b, d, 1, "commit")
	ctx := context.Background()
	if _, err := br.Append(ctx, "commit", 0, cairn.Record{Value: []byte("x")}); err != nil {
		b.Fatal(err)
	}
	c, err := consumer.New(br, &consumer.Options{Topics: []string{"commit"}, Group: "commit", DisableAutoCommit: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if _, err := c.Poll(ctx); err != nil { // joins and gets the partition
		b.Fatal(err)
	}
	desc, err := br.Groups().DescribeGroup(ctx, "commit")
	if err != nil {
		b.Fatal(err)
	}
	tp := group.TopicPartition{Topic: "commit", Partition: 0}
	commit := func(off int64) error {
		return c.Commit(ctx, map[group.TopicPartition]group.Committed{tp: {Offset: off}})
	}
	if api == "coordinator" {
		commit = func(off int64) error {
			return br.Groups().CommitOffsets(ctx, group.CommitRequest{Group: "commit",
				MemberID: desc.Members[0].MemberID, Generation: desc.Generation,
				Offsets: map[group.TopicPartition]group.Committed{tp: {Offset: off}}})
		}
	}
	var n int64
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		n++
		if err := commit(n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "commits/s")
}
