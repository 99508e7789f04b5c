package group_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// One member's trip through the classic group protocol, as a consumer
// drives it: join, compute the assignment as the leader, sync to get its
// partitions, commit an offset and leave.
func ExampleCoordinator() {
	ctx := context.Background()
	db, err := pebble.Open("data", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer db.Close() // after the coordinator: it borrows the DB
	c, err := group.Open(group.Options{DB: db})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	assignor := group.Range()
	join, err := c.JoinGroup(ctx, group.JoinRequest{Group: "billing", ProtocolType: group.ConsumerProtocol,
		Protocols: []group.Protocol{{Name: assignor.Name(),
			Metadata: group.EncodeSubscription([]string{"orders"}, nil, -1)}},
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	fmt.Println("generation", join.Generation, "leader", join.LeaderID == join.MemberID, "protocol", join.Protocol)

	// The leader gets every member's subscription and assigns the partitions.
	subs := make([]group.Subscription, len(join.Members))
	for i, m := range join.Members {
		if subs[i], err = group.DecodeSubscription(m.MemberID, m.InstanceID, m.Metadata); err != nil {
			panic(err)
		}
	}
	plan := map[string][]byte{}
	for member, tps := range assignor.Assign(subs, map[string]int32{"orders": 3}) {
		plan[member] = group.EncodeAssignment(tps)
	}
	mine, err := c.SyncGroup(ctx, group.SyncRequest{Group: "billing", MemberID: join.MemberID,
		Generation: join.Generation, Assignments: plan})
	if err != nil {
		panic(err)
	}
	tps, err := group.DecodeAssignment(mine)
	if err != nil {
		panic(err)
	}
	fmt.Println("assigned", tps)

	// Commits are fenced by member id and generation.
	tp := group.TopicPartition{Topic: "orders", Partition: 1}
	if err := c.CommitOffsets(ctx, group.CommitRequest{Group: "billing", MemberID: join.MemberID,
		Generation: join.Generation, Offsets: map[group.TopicPartition]group.Committed{tp: {Offset: 42}}}); err != nil {
		panic(err)
	}
	err = c.CommitOffsets(ctx, group.CommitRequest{Group: "billing", MemberID: join.MemberID,
		Generation: join.Generation - 1, Offsets: map[group.TopicPartition]group.Committed{tp: {Offset: 7}}})
	fmt.Println("stale commit fenced:", errors.Is(err, group.ErrIllegalGeneration))
	committed, err := c.FetchOffsets(ctx, "billing", tp)
	if err != nil {
		panic(err)
	}
	fmt.Println("committed", committed[tp].Offset)

	if err := c.LeaveGroup(ctx, "billing", group.MemberIdentity{MemberID: join.MemberID}); err != nil {
		panic(err)
	}
	desc, err := c.DescribeGroup(ctx, "billing")
	if err != nil {
		panic(err)
	}
	fmt.Println(desc.State, len(desc.Members))
	// Output:
	// generation 1 leader true protocol range
	// assigned [{orders 0} {orders 1} {orders 2}]
	// stale commit fenced: true
	// committed 42
	// Empty 0
}

// The admin calls on a broker's coordinator, as tools use them: lag, and a
// reset of an empty group's offsets.
func ExampleCoordinator_Lag() {
	ctx := context.Background()
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	if err := b.CreateTopic(ctx, "orders", 1, nil); err != nil {
		panic(err)
	}
	for i := range 5 {
		if _, err := b.Append(ctx, "orders", 0, cairn.Record{Value: fmt.Appendf(nil, "order %d", i)}); err != nil {
			panic(err)
		}
	}
	// A consumer of group "billing" committed offset 2 (the next to read).
	tp := group.TopicPartition{Topic: "orders", Partition: 0}
	if err := b.CommitOffsets(ctx, group.CommitRequest{Group: "billing", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{tp: {Offset: 2}}}); err != nil {
		panic(err)
	}

	groups := b.Groups()
	lag, err := groups.Lag(ctx, "billing")
	if err != nil {
		panic(err)
	}
	for _, l := range lag {
		fmt.Printf("%s/%d committed %d high watermark %d lag %d\n", l.Topic, l.Partition, l.Committed, l.HighWatermark, l.Lag)
	}

	// Replay the topic from the start: the group must have no members.
	if err := groups.ResetOffsets(ctx, "billing", group.ToEarliest(), tp); err != nil {
		panic(err)
	}
	lag, err = groups.Lag(ctx, "billing")
	if err != nil {
		panic(err)
	}
	fmt.Println("after reset: lag", lag[0].Lag)

	if err := groups.DeleteGroup(ctx, "billing"); err != nil {
		panic(err)
	}
	list, err := groups.ListGroups(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("groups left:", len(list))
	// Output:
	// orders/0 committed 2 high watermark 5 lag 3
	// after reset: lag 5
	// groups left: 0
}
