package kafka

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// groupWaiters counts goroutines of waitAny's groups still blocked in
// their reflect.Select.
func groupWaiters() int {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "kafka.waitAny.func") && strings.Contains(g, "reflect.Select(") {
			n++
		}
	}
	return n
}

// waitAny's group goroutines must be done when it returns: they are its
// own, and nothing else ever waits for them. It returned with them still
// building or blocked in their 32,769-case select (a few MB each with
// reflect's scratch space), until the scheduler got to them: a long poll
// that loops (one wake-up per append) piles them up, and goroutine-leak
// checks right after a fetch see them.
func TestWaitAnyJoinsItsGoroutines(t *testing.T) {
	chans := make([]<-chan struct{}, 70000)
	for i := range chans {
		chans[i] = make(chan struct{})
	}
	leftover := 0
	for range 20 {
		waitAny(context.Background(), chans, time.Now().Add(5*time.Millisecond), nil)
		leftover = max(leftover, groupWaiters())
	}
	if leftover > 0 {
		t.Fatalf("waitAny returned with %d of its goroutines still running", leftover)
	}
}
