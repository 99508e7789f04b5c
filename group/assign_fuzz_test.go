package group

import (
	"fmt"
	"slices"
	"testing"
)

// FuzzAssign decodes members' metadata as a Kafka client would send it in
// JoinGroup (any bytes: a client may be buggy or hostile) and runs every
// built-in assignor on them, as the in-process consumer that leads the
// group does. Whatever the metadata says, an assignment must name only
// partitions that exist, each once, each to a member subscribed to its
// topic; eager assignors must assign every subscribed partition, and the
// cooperative one may hold back only a partition that a member validly
// claims (it is revoked first).
func FuzzAssign(f *testing.F) {
	f.Add([]byte{3, 2}, EncodeSubscription([]string{"a", "b"}, nil, 1), EncodeSubscription([]string{"a"}, []TopicPartition{{"a", 0}, {"a", 1}}, 3), []byte{})
	f.Add([]byte{1, 0, 4}, EncodeSubscription([]string{"a", "c"}, []TopicPartition{{"a", -1}, {"c", 9}}, 2), EncodeSubscription([]string{"c", "c"}, []TopicPartition{{"c", 0}, {"c", 0}}, 2), []byte{0xff, 0xff})
	f.Add([]byte{2, 2, 2}, EncodeSubscription([]string{"b"}, []TopicPartition{{"b", 1}}, -5), EncodeSubscription([]string{"b", ""}, []TopicPartition{{"b", 1}, {"", 0}}, 7), EncodeSubscription(nil, nil, 0))
	f.Fuzz(func(t *testing.T, sizes, m0, m1, m2 []byte) {
		topics := []string{"a", "b", "c"}
		counts := map[string]int32{}
		for i, n := range sizes {
			if i < len(topics) {
				counts[topics[i]] = int32(n % 9)
			}
		}
		var members []Subscription
		for i, raw := range [][]byte{m0, m1, m2} {
			s, err := DecodeSubscription(fmt.Sprintf("m%d", i), "", raw)
			if err != nil {
				continue // the coordinator refuses such a member
			}
			members = append(members, s)
		}
		for _, a := range []Assignor{Range(), RoundRobin(), CooperativeSticky()} {
			checkAssignment(t, a, members, counts)
		}
	})
}

func checkAssignment(t *testing.T, a Assignor, members []Subscription, counts map[string]int32) {
	t.Helper()
	out := a.Assign(members, counts)
	byID := map[string]Subscription{}
	for _, m := range members {
		byID[m.MemberID] = m
	}
	owner := map[TopicPartition]string{}
	for id, tps := range out {
		m, ok := byID[id]
		if !ok {
			t.Fatalf("%s: assigned to %q, not a member", a.Name(), id)
		}
		for _, tp := range tps {
			if n, ok := counts[tp.Topic]; !ok || tp.Partition < 0 || tp.Partition >= n {
				t.Fatalf("%s: %s got %v, which does not exist (counts %v)", a.Name(), id, tp, counts)
			}
			if !slices.Contains(m.Topics, tp.Topic) {
				t.Fatalf("%s: %s got %v but subscribes to %q", a.Name(), id, tp, m.Topics)
			}
			if prev, dup := owner[tp]; dup {
				t.Fatalf("%s: %v assigned to %s and %s", a.Name(), tp, prev, id)
			}
			owner[tp] = id
		}
	}
	for _, tp := range allPartitions(counts) {
		if _, ok := owner[tp]; ok || !subscribed(members, tp.Topic) {
			continue
		}
		if a.Cooperative() && claimed(members, tp) {
			continue // held back until its owner revokes it
		}
		t.Fatalf("%s: %v has subscribers but was not assigned", a.Name(), tp)
	}
}

func subscribed(members []Subscription, topic string) bool {
	for _, m := range members {
		if slices.Contains(m.Topics, topic) {
			return true
		}
	}
	return false
}

// claimed reports whether a member subscribed to tp's topic says it owns tp.
func claimed(members []Subscription, tp TopicPartition) bool {
	for _, m := range members {
		if slices.Contains(m.Owned, tp) && slices.Contains(m.Topics, tp.Topic) {
			return true
		}
	}
	return false
}
