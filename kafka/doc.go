// Package kafka serves the Kafka wire protocol for an embedded Broker, so
// existing Kafka clients can produce, consume, join groups and manage
// topics against a durable Cairn broker: in tests without Docker, or as a
// small single-node broker. The tests drive franz-go, sarama,
// segmentio/kafka-go and librdkafka (kcat) against it.
//
// Requests are decoded and responses encoded with franz-go's kmsg. Produced
// batches are validated (CRC, magic 2, records), stamped with offsets and
// stored with their records' bytes as sent (a header claiming a later max
// timestamp than its records gets theirs and a new CRC, as Kafka's broker
// rewrites it); Fetch serves the stored bytes without re-encoding and
// long-polls on appends. Consumer groups use the broker's coordinator, the
// same one in-process consumers use, so a group can mix both. ApiVersions
// advertises only the APIs and versions that are implemented (Produce v3+
// and Fetch v4+, which carry RecordBatch v2); transactions are not yet
// served, and there is no authentication: SASL requests are answered
// ILLEGAL_SASL_STATE, as by a Kafka PLAINTEXT listener. The broker is a
// single node (id 0) that leads every partition.
//
// # Usage
//
//	b, err := cairn.Open("./data", nil)
//	ln, err := net.Listen("tcp", "127.0.0.1:9092")
//	srv := kafka.NewServer(b, &kafka.Options{AutoCreateTopics: true})
//	served := make(chan error, 1)
//	go func() { served <- srv.Serve(ln) }() // fails at once on invalid Options
//	...
//	srv.Close()    // stops the listener and connections
//	err = <-served // nil once Close stopped it
//	b.Close()
//
// For tests, package cairntest starts one on a random loopback port in one
// line. Bad input (malformed or oversized frames, unknown API keys or
// versions) closes that connection or gets a Kafka error code; the broker
// keeps serving everyone else.
//
// A connection's produce requests are pipelined: each is appended as it
// is read, and answered in order once durable. Any other request waits
// until the connection's earlier produces are durable, so it sees them, as
// Kafka handles a connection's requests one at a time. A connection holds
// one Fetch answer at a time, of at most Options.MaxFetchBytes, and a
// client that stops reading its answers holds up only itself.
package kafka
