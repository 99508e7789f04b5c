package main

import (
	"context"
	"testing"
	"time"
)

func TestRuns(t *testing.T) {
	if err := run(context.Background(), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
