package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// A franz-go static member restarted as leader of a Stable group over
// JoinGroup v8 is named by its old member id: it knows it still leads only
// if that id starts with its instance id and "-", as Kafka's static member
// ids do. Otherwise the group is leaderless: partitions added later are
// never assigned.
func TestStaticLeaderRestartV8KeepsLeading(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "t", 1, nil))
	_, err := b.Append(ctx, "t", 0, cairn.Record{Value: []byte("p0")})
	require.NoError(t, err)
	vs := kversion.Stable()
	vs.SetMaxKeyVersion(kmsg.JoinGroup.Int16(), 8)
	opts := []kgo.Opt{kgo.MaxVersions(vs), kgo.ConsumerGroup("sg"), kgo.InstanceID("i"),
		kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMaxAge(200 * time.Millisecond), kgo.MetadataMinAge(50 * time.Millisecond)}
	poll := func(cl *kgo.Client, want string) {
		t.Helper()
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		for pctx.Err() == nil {
			var got bool
			cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) { got = got || string(r.Value) == want })
			if got {
				return
			}
		}
		t.Fatalf("never consumed %q", want)
	}
	first, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	require.NoError(t, err)
	poll(first, "p0")
	first.Close() // static: stays in the group

	again := client(t, addr, opts...)
	_, err = b.Append(ctx, "t", 0, cairn.Record{Value: []byte("p0 again")})
	require.NoError(t, err)
	poll(again, "p0 again") // joined, back in its place
	require.NoError(t, b.CreatePartitions(ctx, "t", 2))
	_, err = b.Append(ctx, "t", 1, cairn.Record{Value: []byte("p1")})
	require.NoError(t, err)
	poll(again, "p1")
}
