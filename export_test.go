package cairn

// WALBytesIn returns the bytes the broker's Pebble has written to its WAL.
func WALBytesIn(b *Broker) uint64 { return b.db.Metrics().WAL.BytesIn }

// SetDeleteTopicHook runs f in DeleteTopic between the topic's deletion
// and the removal of its commits, until the returned func resets it.
func SetDeleteTopicHook(f func()) (reset func()) {
	deleteTopicHook = f
	return func() { deleteTopicHook = nil }
}
