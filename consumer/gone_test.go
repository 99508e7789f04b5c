package consumer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// An assigned partition whose topic is deleted is reported once, then
// waited on like any other: it used to fail every Poll at once, so a Poll
// loop spun a core. It is read again once the topic is back.
func TestDeletedAssignedTopicReportedOnce(t *testing.T) {
	b, c := deletedAssigned(t)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	f, err := c.Poll(short)
	require.ErrorIs(t, err, context.DeadlineExceeded, "no new error: %v", f.Err())
	require.NoError(t, b.CreateTopic(ctx, "u", 1, nil))
	appendN(t, b, "u", 0, 1, "back")
	require.Equal(t, "back-0", string(pollN(t, c, 1)[0].Value))
}

// deletedAssigned returns a consumer of t/0 and u/0 (looking again every
// 10ms) whose first Poll reported u deleted.
func deletedAssigned(t *testing.T) (*cairn.Broker, *consumer.Consumer) {
	b := newBroker(t, map[string]int{"t": 1, "u": 1})
	c := newConsumer(t, b, &consumer.Options{MetadataInterval: 10 * time.Millisecond,
		Partitions: map[string][]int32{"t": {0}, "u": {0}}})
	require.NoError(t, b.DeleteTopic(ctx, "u"))
	f, err := c.Poll(ctx)
	require.NoError(t, err)
	require.ErrorIs(t, f.Err(), cairn.ErrUnknownTopic)
	return b, c
}

// A group leader may be a Kafka client whose assignment names partitions
// that do not exist. The member reads the ones that do; each other one is
// reported once, not at every Poll.
func TestForeignLeaderAssignsMissingPartitions(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 2})
	appendN(t, b, "t", 0, 3, "v")
	meta := group.EncodeSubscription([]string{"t"}, nil, -1)
	req := group.JoinRequest{Group: "g", InstanceID: "kgo-1", ProtocolType: group.ConsumerProtocol,
		Protocols: []group.Protocol{{Name: "range", Metadata: meta}}, ClientID: "kgo",
		SessionTimeout: 5 * time.Second, RebalanceTimeout: 5 * time.Second}
	resp, err := b.Groups().JoinGroup(ctx, req)
	require.NoError(t, err)
	leader := resp.MemberID
	_, err = b.Groups().SyncGroup(ctx, group.SyncRequest{Group: "g", MemberID: leader, InstanceID: "kgo-1",
		Generation: resp.Generation, Assignments: map[string][]byte{leader: group.EncodeAssignment(nil)}})
	require.NoError(t, err)

	c := newConsumer(t, b, groupOpts("g", "t"))
	runCtx, stop := context.WithCancel(ctx)
	type result struct {
		recs int
		errs []error
	}
	results := make(chan result, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			f, err := c.Poll(runCtx)
			if err != nil {
				return
			}
			errs := make([]error, len(f.Errors))
			for i, e := range f.Errors {
				errs[i] = e
			}
			results <- result{len(f.Records), errs}
		}
	}()
	defer func() { stop(); <-done }()

	// The Kafka client sees the rebalance, rejoins and, as leader, plans.
	for {
		err := b.Groups().Heartbeat(ctx, group.HeartbeatRequest{Group: "g", MemberID: leader, InstanceID: "kgo-1", Generation: resp.Generation})
		if errors.Is(err, group.ErrRebalanceInProgress) {
			break
		}
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
	}
	req.MemberID = leader
	resp, err = b.Groups().JoinGroup(ctx, req)
	require.NoError(t, err)
	require.Equal(t, leader, resp.LeaderID)
	missing := []group.TopicPartition{{Topic: "t", Partition: -1}, {Topic: "t", Partition: 7}, {Topic: "gone", Partition: 0}}
	plan := map[string][]byte{}
	for _, m := range resp.Members {
		if m.MemberID == leader {
			plan[m.MemberID] = group.EncodeAssignment([]group.TopicPartition{{Topic: "t", Partition: 1}})
		} else {
			plan[m.MemberID] = group.EncodeAssignment(append([]group.TopicPartition{{Topic: "t", Partition: 0}}, missing...))
		}
	}
	_, err = b.Groups().SyncGroup(ctx, group.SyncRequest{Group: "g", MemberID: leader, InstanceID: "kgo-1",
		Generation: resp.Generation, Assignments: plan})
	require.NoError(t, err)

	// Until the records are in (a loaded machine may take a while), then
	// 300ms more: 30 MetadataIntervals, so 30 looks at each missing one.
	var recs, errs int
	var settle <-chan time.Time
	giveUp := time.After(10 * time.Second)
	for {
		select {
		case r := <-results:
			recs += r.recs
			errs += len(r.errs)
			if recs >= 3 && settle == nil {
				settle = time.After(300 * time.Millisecond)
			}
			continue
		case <-settle:
		case <-giveUp:
			t.Fatalf("%d of 3 records in 10s", recs)
		}
		break
	}
	require.Equal(t, 3, recs)
	require.Equal(t, len(missing), errs, "each missing partition reported once")
}

// A parked partition is looked at again each MetadataInterval for as long
// as one Poll waits, not only at the first look after it was reported.
func TestParkedPartitionSeenInOneLongPoll(t *testing.T) {
	b, c := deletedAssigned(t)

	got := make(chan string, 1)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	go func() {
		f, err := c.Poll(pctx)
		if err != nil {
			got <- "Poll: " + err.Error()
			return
		}
		got <- string(f.Records[0].Value)
	}()
	time.Sleep(100 * time.Millisecond) // several MetadataIntervals: u looked at, still gone
	require.NoError(t, b.CreateTopic(ctx, "u", 1, nil))
	appendN(t, b, "u", 0, 1, "back")
	require.Equal(t, "back-0", <-got)
}

// The broker under a consumer of assigned partitions is closed: every
// later Poll has nothing to wait for, and must say why, not wait until
// its context ends.
func TestBrokerClosedNotParked(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	c := newConsumer(t, b, &consumer.Options{Partitions: map[string][]int32{"t": {0}}})
	require.NoError(t, b.Close())
	for i := range 3 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		f, err := c.Poll(pctx)
		cancel()
		require.NoError(t, err, "Poll %d", i)
		require.ErrorIs(t, f.Err(), cairn.ErrClosed, "Poll %d", i)
	}
}
