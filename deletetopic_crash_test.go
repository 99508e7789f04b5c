//go:build unix

package cairn_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/stretchr/testify/require"
)

// A process killed inside DeleteTopic, after the topic is deleted but
// before its commits are: the child deletes a topic a group has
// committed to, and SIGKILLs itself at that point (a test hook). After
// the restart the topic is gone, and so must its commits be, as
// DeleteTopic promises: a topic created again under the name is read from
// its start, not from the old topic's offsets.
const delTopicChildEnv = "CAIRN_DELTOPIC_CRASH_CHILD" // "durability|dir"; set only in the child

func TestDeleteTopicCrashChild(t *testing.T) {
	b, dur := openKillChild(t, delTopicChildEnv, "TestDeleteTopicCrashForgetsCommits")
	must(b.CreateTopic(ctx, "t", 2, nil))
	for range 5 {
		_, err := b.Append(ctx, "t", 0, kv("k", "v"))
		must(err)
	}
	must(b.CommitOffsets(ctx, group.CommitRequest{Group: "g", Generation: -1,
		Offsets: map[group.TopicPartition]group.Committed{{Topic: "t", Partition: 0}: {Offset: 3}}}))
	cairn.SetDeleteTopicHook(func() {
		if dur != cairn.SyncAlways {
			// Without sync Pebble keeps a partial WAL block in the
			// process: a synced write (InitProducerID's) hands the
			// deletion to the disk, so that the kill lands after it.
			_, _, err := b.InitProducerID(ctx)
			must(err)
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	})
	must(b.DeleteTopic(ctx, "t"))
	fmt.Println("error: DeleteTopic returned")
	os.Exit(2)
}

func TestDeleteTopicCrashForgetsCommits(t *testing.T) {
	for _, dur := range []cairn.Durability{cairn.SyncAlways, cairn.NoSync} {
		t.Run(dur.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestDeleteTopicCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d|%s", delTopicChildEnv, dur, dir))
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "child: %v\n%s", err, out)
			ws := ee.Sys().(syscall.WaitStatus)
			require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child did not die by SIGKILL: %v\n%s", err, out)

			b, err := cairn.Open(dir, &cairn.Options{Durability: dur, CleanupInterval: -1})
			require.NoError(t, err)
			defer func() { require.NoError(t, b.Close()) }()
			_, err = b.DescribeTopic(ctx, "t")
			require.ErrorIs(t, err, cairn.ErrUnknownTopic, "the deletion was acknowledged to the WAL before the kill")

			tp := group.TopicPartition{Topic: "t", Partition: 0}
			got, err := b.FetchOffsets(ctx, "g", tp)
			require.NoError(t, err)
			require.NotContains(t, got, tp, "a commit of the deleted topic survived the restart")

			require.NoError(t, b.CreateTopic(ctx, "t", 2, nil))
			got, err = b.FetchOffsets(ctx, "g", tp)
			require.NoError(t, err)
			require.NotContains(t, got, tp, "the topic created again inherited the deleted one's commit")
			lag, err := b.Groups().Lag(ctx, "g")
			if err == nil {
				for _, l := range lag {
					require.EqualValues(t, -1, l.Committed, "lag of the new topic counts from the deleted one's commit: %+v", l)
				}
			}
		})
	}
}
