package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// A failed command removes the outermost directory of --dir it made. If
// another process (a `cairn serve --dir parent/theirs`) made a store
// beside --dir in it between the command's look and its open, that store
// is not the command's to remove: ours looked at --dir's store only.
func TestFailedCommandKeepsSiblingStore(t *testing.T) {
	t.Cleanup(func() { beforeOpen = nil })
	parent := filepath.Join(t.TempDir(), "parent")
	dir := filepath.Join(parent, "data")
	theirs := filepath.Join(parent, "theirs")
	beforeOpen = func(string) { topicInDir(t, theirs) }
	r := cli(t, "", createBad(t, dir)...)
	beforeOpen = nil
	require.Equal(t, exitError, r.code, r.err)
	_, err := os.Stat(theirs)
	require.NoError(t, err, "the failed create removed %s, another process's store; stderr %q", theirs, r.err)
	b, err := cairn.Open(theirs, nil)
	require.NoError(t, err)
	defer b.Close()
	ts, err := b.Topics(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"theirs"}, ts)
}
