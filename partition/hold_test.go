package partition

import (
	"os"
	"os/exec"
	"testing"
)

// HoldAppends is exported, and its release is the partition mutex's
// Unlock itself: a second release (a defer plus an explicit call on an
// error path, say) is "fatal error: sync: unlock of unlocked mutex",
// which no recover catches, and the whole process dies; a release after
// another caller took the lock unlocks theirs. release should be safe to
// call twice, as context.CancelFunc and the other release funcs users
// know. Run in a child process, since the failure kills the binary.
func TestHoldAppendsReleaseTwice(t *testing.T) {
	if os.Getenv("HOLD_CHILD") == "1" {
		p := newPartition(t, false)
		_, release := p.HoldAppends()
		release()
		release()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldAppendsReleaseTwice$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HOLD_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("a second release killed the process: %v\n%s", err, out)
	}
}
