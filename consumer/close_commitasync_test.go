package consumer_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
)

// CommitAsync's done runs in a goroutine Close waits for ("Close waits
// for commits in flight"). A done that closes the consumer (say, on a
// failed commit) while the user's own Close is in progress: that second
// Close used to return at once; it now waits for the first Close, which
// waits for done: both hang for good.
func TestCloseFromCommitAsyncDoneDuringClose(t *testing.T) {
	b := newBroker(t, map[string]int{"t": 1})
	// Not newConsumer: its cleanup Close would hang as well.
	c, err := consumer.New(b, &consumer.Options{Partitions: map[string][]int32{"t": {0}}})
	if err != nil {
		t.Fatal(err)
	}
	userClosing := make(chan struct{})
	c.CommitAsync(map[consumer.TopicPartition]group.Committed{{Topic: "t", Partition: 0}: {Offset: 0}},
		func(err error) {
			<-userClosing
			time.Sleep(100 * time.Millisecond) // the user's Close is under way
			c.Close()                          // e.g. "give up on a failed commit"
		})
	done := make(chan error, 1)
	close(userClosing)
	go func() { done <- c.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung: it waits for CommitAsync's done, whose Close waits for it")
	}
}
