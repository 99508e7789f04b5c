package group

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A session timer that fired while the group's lock was held (its
// callback waits for the lock) is stopped by a join that arrives first:
// joinLocked calls stopTimer, "the rebalance timeout governs while
// joining". But stopTimer leaves timerID as it was, so the waiting
// callback still takes itself for the current timer and removes the
// member in the middle of the join it just made: the join fails with
// ErrUnknownMemberID. (Kafka does not expire a member awaiting a join.)
func TestStoppedSessionTimerDoesNotRemoveJoiningMember(t *testing.T) {
	db, err := pebble.Open("d", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := Open(Options{DB: db, InitialRebalanceDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	req := func(id string, session time.Duration, meta ...byte) JoinRequest {
		return JoinRequest{Group: "g", MemberID: id, ProtocolType: "consumer", Protocols: []Protocol{{Name: "range", Metadata: meta}},
			SessionTimeout: session, RebalanceTimeout: 5 * time.Second}
	}
	// Two members in one generation; a has a short session.
	type res struct {
		r   JoinResponse
		err error
	}
	ch := make(chan res, 2)
	for _, s := range []time.Duration{100 * time.Millisecond, 10 * time.Second} {
		go func() {
			r, err := c.JoinGroup(ctx, req("", s))
			ch <- res{r, err}
		}()
	}
	r1, r2 := <-ch, <-ch
	if r1.err != nil || r2.err != nil {
		t.Fatal(r1.err, r2.err)
	}
	a := r1.r
	if g, _ := c.lookup("g", false); g.members[a.MemberID].session != 100*time.Millisecond {
		a = r2.r
	}
	g, _ := c.lookup("g", false)

	g.mu.Lock()
	time.Sleep(200 * time.Millisecond) // a's session timer fires and waits for mu
	// a's rejoin, with a new subscription, reaches the group first (as a
	// JoinGroup holding mu would): a rebalance starts and a waits for b.
	wait, _, err := g.joinLocked(req(a.MemberID, 100*time.Millisecond, 1))
	g.mu.Unlock()
	if err != nil || wait == nil {
		t.Fatalf("join: %v, waits %v", err, wait != nil)
	}
	select {
	case r := <-wait:
		t.Fatalf("a's join, waiting for the other member, ended with %v", r.err)
	case <-time.After(300 * time.Millisecond):
	}
}
