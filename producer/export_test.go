package producer

// Waiting reports whether a goroutine waits on p's buffer (in Flush, Close
// or a Produce waiting for room), for tests that must act once it does.
func Waiting(p *Producer) bool { return p.buf.waiters.Load() > 0 }
