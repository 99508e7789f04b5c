package main

import "testing"

// The quick start is the first thing a user runs: keep it working.
func TestQuickstartRuns(t *testing.T) {
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
