package group

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func tps(topic string, ps ...int32) []TopicPartition {
	out := make([]TopicPartition, len(ps))
	for i, p := range ps {
		out[i] = TopicPartition{topic, p}
	}
	return out
}

func TestRangeAndRoundRobin(t *testing.T) {
	members := []Subscription{{MemberID: "b", Topics: []string{"x", "y"}}, {MemberID: "a", Topics: []string{"x", "y"}}}
	counts := map[string]int32{"x": 3, "y": 2}
	require.Equal(t, map[string][]TopicPartition{
		"a": append(tps("x", 0, 1), tps("y", 0)...),
		"b": append(tps("x", 2), tps("y", 1)...),
	}, Range().Assign(members, counts))
	require.Equal(t, map[string][]TopicPartition{
		"a": {{"x", 0}, {"x", 2}, {"y", 1}},
		"b": {{"x", 1}, {"y", 0}},
	}, RoundRobin().Assign(members, counts))
	// Only subscribers of a topic get its partitions.
	only := []Subscription{{MemberID: "a", Topics: []string{"x"}}, {MemberID: "b", Topics: []string{"y"}}}
	require.Equal(t, map[string][]TopicPartition{"a": tps("x", 0, 1, 2), "b": tps("y", 0, 1)}, RoundRobin().Assign(only, counts))
	require.Equal(t, map[string][]TopicPartition{"a": tps("x", 0, 1, 2), "b": tps("y", 0, 1)}, Range().Assign(only, counts))
}

// validate checks an assignment: no partition twice, and every assigned
// partition exists and is subscribed.
func validate(t *testing.T, members []Subscription, counts map[string]int32, a map[string][]TopicPartition) {
	t.Helper()
	seen := map[TopicPartition]string{}
	for id, ps := range a {
		for _, tp := range ps {
			prev, dup := seen[tp]
			require.False(t, dup, "%v assigned to %s and %s", tp, prev, id)
			seen[tp] = id
			require.Less(t, tp.Partition, counts[tp.Topic])
		}
	}
}

// rebalance runs cooperative rounds until the assignment settles,
// returning it and the number of rounds.
func rebalance(t *testing.T, members []Subscription, counts map[string]int32) (map[string][]TopicPartition, int) {
	t.Helper()
	for round := 1; round < 10; round++ {
		a := CooperativeSticky().Assign(members, counts)
		validate(t, members, counts, a)
		settled := true
		for i := range members {
			if !slices.Equal(sortedTPs(members[i].Owned), sortedTPs(a[members[i].MemberID])) {
				settled = false
			}
			members[i].Owned = a[members[i].MemberID]
			members[i].Generation++
		}
		if settled {
			return a, round
		}
	}
	t.Fatal("did not settle")
	return nil, 0
}

func TestCooperativeStickyBalancesAndSticks(t *testing.T) {
	counts := map[string]int32{"t": 24}
	var members []Subscription
	for i := 0; i < 8; i++ {
		members = append(members, Subscription{MemberID: fmt.Sprintf("m%d", i), Topics: []string{"t"}})
	}
	a, _ := rebalance(t, members, counts)
	for _, ps := range a {
		require.Len(t, ps, 3)
	}
	before := map[TopicPartition]string{}
	for id, ps := range a {
		for _, tp := range ps {
			before[tp] = id
		}
	}
	// A ninth member joins: only the partitions it takes move, and each
	// moves once (revoked in one round, assigned in the next).
	members = append(members, Subscription{MemberID: "m8", Topics: []string{"t"}})
	first := CooperativeSticky().Assign(members, counts)
	require.Empty(t, first["m8"], "round one only revokes")
	a, rounds := rebalance(t, members, counts)
	require.Equal(t, 2, rounds-1, "two rebalances, then stable")
	moved := 0
	for id, ps := range a {
		require.True(t, len(ps) == 2 || len(ps) == 3, "%s has %d", id, len(ps))
		for _, tp := range ps {
			if before[tp] != id {
				moved++
				require.Equal(t, "m8", id, "%v moved between old members", tp)
			}
		}
	}
	require.Len(t, a["m8"], moved)
	require.Equal(t, 2, moved)
}

func TestCooperativeStickyMemberLeaves(t *testing.T) {
	counts := map[string]int32{"t": 6}
	members := []Subscription{
		{MemberID: "a", Topics: []string{"t"}, Owned: tps("t", 0, 1)},
		{MemberID: "b", Topics: []string{"t"}, Owned: tps("t", 2, 3)},
	} // c (4, 5) left: its partitions are free to assign at once
	a := CooperativeSticky().Assign(members, counts)
	validate(t, members, counts, a)
	require.Len(t, a["a"], 3)
	require.Len(t, a["b"], 3)
	require.Subset(t, a["a"], tps("t", 0, 1))
	require.Subset(t, a["b"], tps("t", 2, 3))
}

func TestCooperativeStickyStaleClaims(t *testing.T) {
	counts := map[string]int32{"t": 2}
	members := []Subscription{
		{MemberID: "old", Topics: []string{"t"}, Owned: tps("t", 0, 1), Generation: 3},
		{MemberID: "new", Topics: []string{"t"}, Owned: tps("t", 0), Generation: 5},
	}
	a := CooperativeSticky().Assign(members, counts)
	validate(t, members, counts, a)
	require.Equal(t, tps("t", 0), a["new"], "the newer claim wins")
}

func TestSubscriptionRoundTrip(t *testing.T) {
	raw := EncodeSubscription([]string{"a", "b"}, tps("a", 2, 0), 7)
	s, err := DecodeSubscription("m", "i", raw)
	require.NoError(t, err)
	require.Equal(t, Subscription{MemberID: "m", InstanceID: "i", Topics: []string{"a", "b"}, Owned: tps("a", 0, 2), Generation: 7}, s)
	got, err := DecodeAssignment(EncodeAssignment(append(tps("b", 1), tps("a", 3)...)))
	require.NoError(t, err)
	require.Equal(t, append(tps("a", 3), tps("b", 1)...), got)
	_, err = DecodeSubscription("m", "", []byte{0, 1, 0})
	require.Error(t, err)
	a, ok := AssignorByName("cooperative-sticky")
	require.True(t, ok)
	require.True(t, a.Cooperative())
}
