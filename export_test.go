package cairn

// WALBytesIn returns the bytes the broker's Pebble has written to its WAL.
func WALBytesIn(b *Broker) uint64 { return b.db.Metrics().WAL.BytesIn }
