package producer

// Waiting reports whether a goroutine waits on p's buffer (in Flush, Close
// or a Produce waiting for room), for tests that must act once it does.
func Waiting(p *Producer) bool { return p.buf.waiters.Load() > 0 }

// Buffered returns the records and bytes p's buffer counts as taken,
// including room partitions took ahead.
func Buffered(p *Producer) (records, bytes int64) {
	u := p.buf.used.Load()
	return int64(u & recordMask), int64(u >> recordBits)
}

// Credited returns the records' room partition of topic holds ahead.
func Credited(p *Producer, topic string, partition int32) int {
	pt := p.existing(topic, partition)
	if pt == nil {
		return 0
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.credRecords
}
