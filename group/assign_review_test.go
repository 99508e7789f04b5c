package group

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// segmentio/kafka-go marks its subscription v1 but writes only topics and
// user data. A group led by an in-process consumer must still assign it.
func TestDecodeSubscriptionKafkaGoV1(t *testing.T) {
	raw := (&kmsg.ConsumerMemberMetadata{Version: 0, Topics: []string{"orders"}, UserData: []byte("x")}).AppendTo(nil)
	raw[1] = 1 // kafka-go: groupMetadata{Version: 1, Topics, UserData}
	orig := slices.Clone(raw)
	s, err := DecodeSubscription("kgo", "", raw)
	require.NoError(t, err)
	require.Equal(t, Subscription{MemberID: "kgo", Topics: []string{"orders"}, Generation: -1}, s)
	require.Equal(t, orig, raw, "the member's metadata is not modified")
	_, err = DecodeSubscription("m", "", []byte{0, 2, 0, 0, 0, 1}) // truncated v2: still an error
	require.Error(t, err)
}

// settle runs cooperative rebalances until nothing changes; it returns the
// number of rebalances that changed something.
func settle(t *testing.T, members []Subscription, counts map[string]int32) int {
	t.Helper()
	members = slices.Clone(members)
	for round := 0; round < 50; round++ {
		a := CooperativeSticky().Assign(members, counts)
		checkAssignment(t, CooperativeSticky(), members, counts)
		same := true
		for i := range members {
			if !slices.Equal(sortedTPs(members[i].Owned), sortedTPs(a[members[i].MemberID])) {
				same = false
			}
			members[i].Owned = a[members[i].MemberID]
			members[i].Generation = int32(100 + round)
		}
		if same {
			return round
		}
	}
	t.Fatalf("no settled assignment after 50 rebalances")
	return 0
}

// With unequal subscriptions, a member leaving must not set off a chain of
// rebalances in which members trade partitions back and forth.
func TestCooperativeStickyUnequalSubscriptionsSettle(t *testing.T) {
	counts := map[string]int32{"a": 3, "b": 6}
	members := []Subscription{ // m0 (b0, b2, b4) left
		{MemberID: "m1", Topics: []string{"a", "b"}, Owned: append(tps("a", 0, 2), tps("b", 5)...), Generation: 1},
		{MemberID: "m2", Topics: []string{"b"}, Owned: tps("b", 1, 3), Generation: 1},
		{MemberID: "m3", Topics: []string{"a"}, Owned: tps("a", 1), Generation: 1},
	}
	require.LessOrEqual(t, settle(t, members, counts), 2)

	topics := []string{"a", "b", "c"}
	for seed := int64(0); seed < 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		var ms []Subscription
		for i := 0; i < 2+r.Intn(6); i++ {
			s := Subscription{MemberID: fmt.Sprintf("m%d", i), Generation: -1}
			for _, tp := range topics {
				if r.Intn(2) == 0 {
					s.Topics = append(s.Topics, tp)
				}
			}
			ms = append(ms, s)
		}
		counts := map[string]int32{}
		for _, tp := range topics {
			if subscribed(ms, tp) {
				counts[tp] = int32(r.Intn(20))
			}
		}
		for i := 0; i < 20; i++ { // a settled group
			a := CooperativeSticky().Assign(ms, counts)
			for j := range ms {
				ms[j].Owned, ms[j].Generation = a[ms[j].MemberID], 1
			}
		}
		ms = ms[1:] // one leaves
		n := settle(t, ms, counts)
		require.LessOrEqual(t, n, 3, "seed %d: %d rebalances after a member left", seed, n)
	}
}
