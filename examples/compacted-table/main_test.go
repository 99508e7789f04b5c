package main

import (
	"strings"
	"testing"
)

func TestCompactedTableRuns(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `keyless append: cairn: compacted topic requires a record key: record 0 of the batch has none (balances/0)
get alice = 95 (offset 5)
get bob = 35 (offset 4)
get carol: cairn: key not found
get erin: cairn: key not found
cleaned 4 records, log offsets [0, 8)
offset 4: bob = 35
offset 5: alice = 95
offset 6: carol = <tombstone>
offset 7: dave = 1
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
