package group

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Member ids handed out with ErrMemberIDRequired are forgotten once their
// session passes: a client that asks for one and does not come back left
// an entry for good. (From a review helper's reproduction.)
func TestPendingIDsExpire(t *testing.T) {
	db, err := pebble.Open("d", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := Open(Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := JoinRequest{Group: "g", ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}},
		SessionTimeout: 10 * time.Millisecond, RequireKnownMemberID: true}
	for i := 0; i < 10000; i++ {
		_, _ = c.JoinGroup(context.Background(), req)
	}
	time.Sleep(50 * time.Millisecond) // every id's session has passed
	_, _ = c.JoinGroup(context.Background(), req)
	g, _ := c.lookup("g", false)
	g.mu.Lock()
	n := len(g.pending)
	g.mu.Unlock()
	if n > 1 {
		t.Fatalf("%d expired pending member ids still held", n)
	}
}
