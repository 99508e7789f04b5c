package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// produce --bootstrap prints, for each line in order, the partition and
// offset that line's record went to. franz-go's ProduceSync returns its
// results in the order they complete, not the order of the records, so
// with keys spread over partitions line i was reported with another
// line's partition and offset (and a failure was blamed on another line).
func TestBootstrapProducePrintsEachLinesPlace(t *testing.T) {
	s := startServe(t, "--dir", filepath.Join(t.TempDir(), "data"), "--durability", "none")
	b := "--bootstrap=" + s.addr
	ok(t, "", "topics", "create", "kp", "--partitions", "5", b)

	var in strings.Builder
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&in, "key%d:v\n", i)
	}
	printed := lines(ok(t, in.String(), "produce", "kp", "--key-sep", ":", b))
	require.Len(t, printed, 12)
	want := map[string]string{} // key to "partition P offset O" as printed
	for i, l := range printed {
		want[fmt.Sprintf("key%d", i+1)] = l
	}
	got := map[string]string{} // key to where consume finds it
	for _, l := range lines(ok(t, "", "consume", "kp", "--format", `%k partition %p offset %o\n`, b)) {
		k, place, _ := strings.Cut(l, " ")
		got[k] = place
	}
	require.Equal(t, want, got)
}
