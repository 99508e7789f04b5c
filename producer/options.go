package producer

import (
	"errors"
	"fmt"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
)

// ErrBufferFull is returned (through the promise) by Produce when the
// buffer is full and Options.FailFast is set.
var ErrBufferFull = errors.New("cairn: producer buffer full")

// Options configure a Producer. The zero value (or nil) is valid.
type Options struct {
	// Partitioner picks each record's partition; default Default(), which
	// hashes keys with murmur2 as Kafka does and sticks keyless records to
	// a partition per batch.
	Partitioner Partitioner
	// Linger is how long a partition's batch may wait for more records
	// before it is sent. The default 0 sends at once; batches still form
	// while an earlier batch of the same partition is being appended.
	// Batches do not linger while a Produce waits for room in the buffer,
	// nor during Flush or ProduceSync.
	Linger time.Duration
	// BatchBytes is the size at which a partition's batch is sent without
	// waiting for more records or the linger (Kafka's batch.size); default
	// 128 KiB, or MaxBatchBytes if that is smaller. A record larger than
	// BatchBytes goes in a batch of its own. While an earlier batch of a
	// partition waits to be durable (a broker syncing to disk), what
	// accumulates goes in the next batch, up to MaxBatchBytes, so that
	// more records share each sync. Batches of 1 MB throughout (kgo's and
	// librdkafka's default) cost about 1.5 times the CPU per record of
	// 128 KiB ones to build and store (BenchmarkBatchBytes in
	// benchmarks/).
	BatchBytes int
	// MaxBatchBytes caps one batch's records, and so one record; default
	// 1,000,000, under a topic's default max.message.bytes. A larger batch
	// the topic refuses is split and sent again.
	MaxBatchBytes int
	// Compression is the codec of produced batches; default log.None.
	Compression log.Codec
	// MaxBufferedBytes and MaxBufferedRecords bound what Produce holds
	// before it is appended; defaults 64 MiB and 100,000. When either is
	// reached, Produce blocks until space frees or its ctx is done. At most
	// 8,388,607 records and 2^39-1 bytes.
	MaxBufferedBytes   int
	MaxBufferedRecords int
	// FailFast makes Produce fail with ErrBufferFull instead of blocking
	// when the buffer is full.
	FailFast bool
	// DisableIdempotence turns off producer ids and sequence numbers.
	// Idempotence is on by default: a retried batch is never appended twice.
	DisableIdempotence bool
	// Retries is how many times a batch is sent again after an error that
	// may be transient (not a refusal such as an unknown topic); default
	// 10, -1 for none.
	Retries int
	// RetryBackoff is the first wait between retries, doubling up to 1s;
	// default 10ms.
	RetryBackoff time.Duration
	// MaxInFlight is how many batches of one partition may be appending at
	// once, started but not yet durable (Kafka's
	// max.in.flight.requests.per.connection); default 5, at most 5, the
	// batches a partition remembers to deduplicate an idempotent retry.
	// It applies to brokers that implement AsyncBroker, as cairn.Broker
	// does; 1 waits for each batch to be durable before starting the next.
	MaxInFlight int
}

// defaultBatchBytes is Options.BatchBytes's default.
const defaultBatchBytes = 128 << 10

// maxInFlight is the most batches of a partition appending at once: a
// partition deduplicates an idempotent producer's last five batches.
const maxInFlight = 5

// EnsureDefaults fills unset fields and returns o (a fresh Options if nil).
func (o *Options) EnsureDefaults() *Options {
	if o == nil {
		o = &Options{}
	}
	if o.Partitioner == nil {
		o.Partitioner = Default()
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = 1_000_000
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = min(defaultBatchBytes, o.MaxBatchBytes)
	}
	if o.MaxBufferedBytes == 0 {
		o.MaxBufferedBytes = 64 << 20
	}
	if o.MaxBufferedRecords == 0 {
		o.MaxBufferedRecords = 100_000
	}
	if o.Retries == 0 {
		o.Retries = 10
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = 10 * time.Millisecond
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = maxInFlight
	}
	return o
}

// Validate reports options that cannot work, wrapping ErrInvalidArgument
// or log.ErrUnknownCodec.
func (o *Options) Validate() error {
	if o == nil {
		return nil // nil Options are the defaults, which are valid
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: producer: %s", partition.ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Linger < 0:
		return bad("negative linger %v", o.Linger)
	case o.MaxBatchBytes < log.HeaderSize+1:
		return bad("max batch bytes %d below one record", o.MaxBatchBytes)
	case o.BatchBytes < 0 || o.BatchBytes > o.MaxBatchBytes:
		return bad("batch bytes %d outside 0 to max batch bytes %d", o.BatchBytes, o.MaxBatchBytes)
	case o.MaxBufferedBytes < 0 || o.MaxBufferedRecords < 0:
		return bad("negative buffer bound")
	case o.MaxBufferedRecords > maxBufferedRecords || int64(o.MaxBufferedBytes) > maxBufferedBytes:
		return bad("buffer bound over %d records or %d bytes", maxBufferedRecords, int64(maxBufferedBytes))
	case o.Retries < -1 || o.RetryBackoff < 0:
		return bad("retries %d below -1 (none) or negative backoff %v", o.Retries, o.RetryBackoff)
	case o.MaxInFlight < 0 || o.MaxInFlight > maxInFlight:
		return bad("max in flight %d outside 1 to %d", o.MaxInFlight, maxInFlight)
	case !o.Compression.Valid():
		return fmt.Errorf("%w: %d", log.ErrUnknownCodec, o.Compression)
	}
	return nil
}
