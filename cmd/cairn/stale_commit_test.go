package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A group whose committed offset retention has since deleted: consume
// --from latest exits at once, as the client resets to the end (it counted
// the records after the stale commit as pending, and waited for ever).
func TestStaleCommitFromLatest(t *testing.T) {
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
	b := "--bootstrap=" + s.addr
	ok(t, "", "topics", "create", "orders", b)
	ok(t, "a\nb\nc\nd\ne\n", "produce", "orders", b)
	ok(t, "", "consume", "orders", "--group", "g", "-n", "1", b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.addr))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	o := kadm.Offsets{}
	o.AddOffset("orders", 0, 3, -1)
	_, err = adm.DeleteRecords(ctx, o)
	require.NoError(t, err)

	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out, errb syncBuffer
	code := run(cctx, []string{"consume", "orders", "--group", "g", "--from", "latest", b}, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	require.NoError(t, cctx.Err(), "hung; printed %q", out.String())
	require.Equal(t, exitOK, code, errb.String())
	require.Empty(t, out.String())
	code = run(cctx, []string{"consume", "orders", "--from", "1", b}, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	require.NoError(t, cctx.Err(), "hung; printed %q", out.String())
	require.Equal(t, exitOK, code, errb.String())
	require.Equal(t, "d\ne\n", out.String(), "from the log start")
}
