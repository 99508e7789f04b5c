package group_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// A group id or topic name longer than a committed offset's key holds
// (32,767 bytes, as Kafka's strings) is refused, and the broker reopens.
// (A 64 KiB id was stored with its length wrapped, and the broker could
// not be opened again.)
func TestLongNamesRefused(t *testing.T) {
	fs := vfs.NewMem()
	b, err := cairn.Open("data", &cairn.Options{FS: fs})
	require.NoError(t, err)
	long := strings.Repeat("g", 1<<16+1)
	err = b.Groups().CommitOffsets(ctx, group.CommitRequest{Group: long, Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{tp(0): {Offset: 1}}})
	require.ErrorIs(t, err, group.ErrInvalidGroupID)
	err = b.Groups().CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{{Topic: long}: {Offset: 1}}})
	require.ErrorIs(t, err, cairn.ErrInvalidArgument)
	require.NoError(t, b.Close())
	b, err = cairn.Open("data", &cairn.Options{FS: fs})
	require.NoError(t, err)
	got, err := b.Groups().FetchOffsets(ctx, "g")
	require.NoError(t, err)
	require.Empty(t, got, "a failed commit stores nothing")
	require.NoError(t, b.Close())
}

// DeleteGroup racing a simple commit: the commit lands in the detached
// (deleted) group object. FetchOffsets shows nothing and DeleteGroup cannot
// reach it, but the offset is in Pebble and comes back after a restart.
func TestDeleteRacesCommit(t *testing.T) {
	fs := vfs.NewMem()
	b, err := cairn.Open("data", &cairn.Options{FS: fs})
	require.NoError(t, err)
	c := b.Groups()
	for i := 0; i < 500; i++ {
		g := fmt.Sprintf("g%d", i)
		require.NoError(t, c.CommitOffsets(ctx, group.CommitRequest{Group: g, Generation: -1,
			Offsets: map[group.TopicPartition]group.Committed{tp(0): {Offset: 1}}}))
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; _ = c.DeleteGroup(ctx, g) })
		wg.Go(func() {
			<-start
			_ = c.CommitOffsets(ctx, group.CommitRequest{Group: g, Generation: -1,
				Offsets: map[group.TopicPartition]group.Committed{tp(1): {Offset: 7}}})
		})
		close(start)
		wg.Wait()
		_ = c.DeleteGroup(ctx, g) // whatever is visible is deleted
		_, err := c.DescribeGroup(ctx, g)
		require.ErrorIs(t, err, group.ErrUnknownGroup)
	}
	list, err := c.ListGroups(ctx)
	require.NoError(t, err)
	require.Empty(t, list, "every group deleted before the restart")
	require.NoError(t, b.Close())
	b, err = cairn.Open("data", &cairn.Options{FS: fs})
	require.NoError(t, err)
	defer b.Close()
	list, err = b.Groups().ListGroups(ctx)
	require.NoError(t, err)
	require.Empty(t, list, "deleted groups came back after a restart with offsets committed into the detached group")
}

// JoinGroup racing DeleteGroup: the member joins the detached group, which
// no admin call can see, and a second member of the "same" group forms a
// separate generation: two leaders assign the same partitions.
func TestDeleteRacesJoin(t *testing.T) {
	b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	defer b.Close()
	c := b.Groups()
	for i := 0; i < 3000; i++ {
		g := "g" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + time.Now().Format("150405.000000000")
		require.NoError(t, c.CommitOffsets(ctx, group.CommitRequest{Group: g, Generation: -1,
			Offsets: map[group.TopicPartition]group.Committed{tp(0): {Offset: 1}}}))
		var wg sync.WaitGroup
		var resp group.JoinResponse
		var joinErr error
		start := make(chan struct{})
		wg.Go(func() { <-start; _ = c.DeleteGroup(ctx, g) })
		wg.Go(func() { <-start; resp, joinErr = c.JoinGroup(ctx, joinReq(g, "")) })
		close(start)
		wg.Wait()
		if joinErr != nil {
			continue
		}
		d, err := c.DescribeGroup(ctx, g)
		if err != nil || len(d.Members) == 0 {
			second, err2 := c.JoinGroup(ctx, joinReq(g, ""))
			require.NoError(t, err2)
			t.Fatalf("iteration %d: member %s joined a deleted group (describe: %v); a second member %s leads its own generation %d",
				i, resp.MemberID, err, second.MemberID, second.Generation)
		}
		require.NoError(t, c.LeaveGroup(ctx, g, group.MemberIdentity{MemberID: resp.MemberID}))
	}
}

// CommitOffsets writes the commit time into the caller's map.
func TestCommitLeavesCallerMap(t *testing.T) {
	c := newBroker(t, nil).Groups()
	offs := map[group.TopicPartition]group.Committed{tp(0): {Offset: 1}}
	require.NoError(t, c.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1, Offsets: offs}))
	require.True(t, offs[tp(0)].Time.IsZero(), "caller's map was modified: %v", offs[tp(0)].Time)
}

// Coordinator.Close ranges over the groups map after dropping c.mu, while a
// DeleteGroup that passed lookup deletes from it under c.mu.
func TestCloseRacesDeleteGroup(t *testing.T) {
	for round := 0; round < 20; round++ {
		b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
		require.NoError(t, err)
		c := b.Groups()
		for i := 0; i < 200; i++ {
			require.NoError(t, c.CommitOffsets(ctx, group.CommitRequest{Group: fmt.Sprintf("g%d", i), Generation: -1,
				Offsets: map[group.TopicPartition]group.Committed{tp(0): {Offset: 1}}}))
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 200; i++ {
			wg.Go(func() { <-start; _ = c.DeleteGroup(ctx, fmt.Sprintf("g%d", i)) })
		}
		wg.Go(func() { <-start; _ = c.Close() })
		close(start)
		wg.Wait()
		b.Close()
	}
}
func TestDeleteAfterBrokerClose(t *testing.T) {
	for round := 0; round < 200; round++ {
		b, err := cairn.Open("data", &cairn.Options{FS: vfs.NewMem()})
		require.NoError(t, err)
		c := b.Groups()
		require.NoError(t, c.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
			Offsets: map[group.TopicPartition]group.Committed{tp(0): {Offset: 1}}}))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 4; i++ {
			wg.Go(func() { <-start; _ = c.DeleteGroup(ctx, "g") })
		}
		wg.Go(func() { <-start; _ = b.Close() })
		close(start)
		wg.Wait()
	}
}
