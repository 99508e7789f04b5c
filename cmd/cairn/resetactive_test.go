package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groups reset through a listener on a group with a live member failed
// with "UNKNOWN_MEMBER_ID: The coordinator is not aware of this member",
// which does not say why; as kafka-consumer-groups.sh, it now says the
// group has members, and changes nothing.
func TestGroupsResetActiveGroupSaysWhy(t *testing.T) {
	r := servedABC(t) // topic t of a, b, c on a served broker
	b := "--bootstrap=" + r.seed
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.seed), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for got := 0; got < 3; {
		fs := cl.PollFetches(ctx)
		require.NoError(t, fs.Err())
		got += fs.NumRecords()
	}
	require.NoError(t, cl.CommitUncommittedOffsets(ctx))
	res := cli(t, "", "groups", "reset", "g", "--topic", "t", "--to", "earliest", b)
	require.Equal(t, exitError, res.code)
	require.Contains(t, res.err, "group is not empty")
	require.Contains(t, res.err, "1 members")
	require.Contains(t, ok(t, "", "groups", "lag", "g", b), "total lag 0\n", "nothing reset")
}
