package consumer_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
)

// A CommitAsync done that calls Close when no other Close is under way
// (say, "give up on a failed commit") makes that the first Close. It used
// to wait for the commits in flight with their done calls, its own among
// them, and never returned. (From a review helper's reproduction.)
func TestCloseFromCommitAsyncDoneAlone(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	c, err := consumer.New(b, &consumer.Options{Partitions: map[string][]int32{"t": {0}}})
	if err != nil {
		t.Fatal(err)
	}
	returned := make(chan error, 1)
	c.CommitAsync(map[consumer.TopicPartition]group.Committed{{Topic: "t", Partition: 0}: {Offset: 0}},
		func(error) { returned <- c.Close() })
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Close called from CommitAsync's done never returned: it waited for its own callback")
	}
}
