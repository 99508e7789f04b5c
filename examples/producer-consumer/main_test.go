package main

import (
	"context"
	"testing"
)

func TestRuns(t *testing.T) {
	if err := run(context.Background(), 2000); err != nil {
		t.Fatal(err)
	}
}
