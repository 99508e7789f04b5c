package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/stretchr/testify/require"
)

// A group consumer's auto-commit must not store the position it reached in
// a deleted topic as the position of the topic created again under its
// name: DeleteTopic forgets the group's commits so that the new topic is
// read from its start, and the consumer itself restarts it from Start.
// The auto-commit at the start of the next Poll committed the old
// position (100) for the new topic, before that Poll had returned any of
// its records: a member taking the partition over after a crash would
// skip the new topic's first 100 records.
func TestAutoCommitAfterRecreateIsNotOldPosition(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	appendN(t, b, "t", 0, 100, "old")
	c := newConsumer(t, b, &consumer.Options{Topics: []string{"t"}, Group: "g",
		AutoCommitInterval: time.Nanosecond, MaxPollRecords: 1000})
	got := pollN(t, c, 100)
	require.Equal(t, int64(99), got[99].Offset)

	require.NoError(t, b.DeleteTopic(ctx, "t"))
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	appendN(t, b, "t", 0, 150, "new")

	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	f, err := c.Poll(pctx) // auto-commits, then finds the new topic
	require.NoError(t, err)
	committed, err := b.FetchOffsets(ctx, "g")
	require.NoError(t, err)
	for tp, cm := range committed {
		require.LessOrEqual(t, cm.Offset, int64(0),
			"%v: committed %d for the new topic, whose records the consumer had not returned yet (this Poll returned %d records from offset %d on): the deleted topic's position",
			tp, cm.Offset, len(f.Records), f.Records[0].Offset)
	}
}
