package cairn

import (
	"fmt"
	"time"

	"github.com/cairnlog/cairn/compaction"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Durability says when an append is acknowledged relative to fsync. Every
// level survives a clean Close.
type Durability int

const (
	// SyncAlways acknowledges an append only after the WAL is fsynced, so
	// acknowledged records survive a process kill and a power loss. Appends
	// in flight at the same time share one fsync (group commit). Readers see
	// a record only once it is durable. This is the default.
	SyncAlways Durability = iota
	// SyncInterval acknowledges an append once it is in the WAL buffer and
	// fsyncs the WAL every Options.SyncInterval. A process kill or a power
	// loss can lose the appends of the last SyncInterval: Pebble keeps
	// the WAL block it is filling (32 KB) in memory until it is full or
	// synced.
	SyncInterval
	// NoSync never fsyncs on its own; the OS writes the WAL back when it
	// chooses. Every Options.SyncInterval, if anything was written, the
	// WAL block Pebble is filling is handed to the OS (without an fsync),
	// so a process kill can lose the appends of the last SyncInterval; a
	// power loss can lose everything since the OS last wrote back
	// (typically up to 30 s on Linux).
	NoSync
)

func (d Durability) String() string {
	switch d {
	case SyncAlways:
		return "sync-always"
	case SyncInterval:
		return "sync-interval"
	case NoSync:
		return "no-sync"
	}
	return fmt.Sprintf("durability(%d)", int(d))
}

// Options configure a Broker. The zero value (or nil) is valid: durable
// appends on the OS filesystem with defaults tuned for a log workload.
type Options struct {
	// FS is the filesystem for all files; nil means the OS filesystem.
	// Tests can pass vfs.NewMem() (github.com/cockroachdb/pebble/v2/vfs) to
	// run fully in memory.
	FS vfs.FS
	// Durability is when appends are acknowledged; default SyncAlways.
	Durability Durability
	// SyncInterval is the WAL fsync period under SyncInterval durability,
	// and how often NoSync hands the WAL to the OS; default 100ms.
	SyncInterval time.Duration
	// Now is the broker's clock (log append times); nil means time.Now.
	Now func() time.Time
	// InitialRebalanceDelay holds the first rebalance of an empty consumer
	// group so members starting together join one generation, as Kafka's
	// group.initial.rebalance.delay.ms (3s there); default 0.
	InitialRebalanceDelay time.Duration
	// CleanupInterval is how often the background cleanup applies
	// retention (cleanup.policy delete) and cleans compacted topics
	// (compact); default 15s, negative disables it (Broker.Cleanup still
	// runs a pass on demand).
	CleanupInterval time.Duration
	// Cleaner tunes the log cleaner: its key map size bounds its memory.
	Cleaner compaction.Options
	// Pebble, if set, may adjust the Pebble options Cairn chose before the
	// store opens (cache size, say). Cairn sets FS and Lock after it.
	Pebble func(*pebble.Options)
}

// EnsureDefaults fills unset fields with their defaults and returns o. A
// nil o gives a fresh Options.
func (o *Options) EnsureDefaults() *Options {
	if o == nil {
		o = &Options{}
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = 100 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CleanupInterval == 0 {
		o.CleanupInterval = 15 * time.Second
	}
	o.Cleaner.EnsureDefaults()
	return o
}

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	if o == nil {
		return nil // nil Options are the defaults, which are valid
	}
	if o.Durability < SyncAlways || o.Durability > NoSync {
		return fmt.Errorf("%w: durability %d", ErrInvalidOptions, int(o.Durability))
	}
	if o.InitialRebalanceDelay < 0 {
		return fmt.Errorf("%w: negative initial rebalance delay", ErrInvalidOptions)
	}
	if o.SyncInterval < 0 {
		return fmt.Errorf("%w: negative sync interval %v", ErrInvalidOptions, o.SyncInterval)
	}
	if err := o.Cleaner.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	return nil
}

// pebbleOptions are Cairn's Pebble settings for a log: batches of ~100 KB
// appended in key order, read in order, deleted by prefix. Measured on a
// 2-core machine writing 2 GB of 120 KB batches with NoSync: Pebble's
// defaults reached 25-108 MB/s with hundreds of write stalls (L0 file
// limits, memtable flushes); these options reach 340-520 MB/s, no stall at
// a steady 250 MB/s, and a write amplification of 2.0 (WAL + one blob
// write) instead of 4.2.
func (o *Options) pebbleOptions() *pebble.Options {
	po := &pebble.Options{
		// Value separation (below) needs the newest on-disk format.
		FormatMajorVersion: pebble.FormatNewest,
		// 64 MB memtables hold ~500 batches, so flushes are rare and large;
		// four of them absorb bursts while one flushes.
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		// Compact L0 early but stall late: log keys rarely overlap, and the
		// default stop threshold (12) stalled appends for nothing.
		L0CompactionThreshold:      2,
		L0StopWritesThreshold:      128,
		LBaseMaxBytes:              512 << 20,
		CompactionConcurrencyRange: func() (int, int) { return 1, 3 },
		// Write back in small steps instead of bursts at fsync time.
		BytesPerSync:    1 << 20,
		WALBytesPerSync: 1 << 20,
		MaxOpenFiles:    4096,
		// Flush range deletions (retention) even when appends are idle, so
		// their space is reclaimed.
		FlushDelayDeleteRange: 10 * time.Second,
		Logger:                quietLogger{},
	}
	po.TargetFileSizes[0] = 16 << 20
	for i := range po.Levels {
		// Batches arrive encoded and often compressed by producers, and
		// sstables hold only keys and blob handles: compressing them again
		// halved write and scan speed in the measurement above.
		po.Levels[i].BlockSize = 32 << 10
		po.Levels[i].IndexBlockSize = 256 << 10
		po.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	// Batches go to blob files at flush time, so compactions move only the
	// 17-byte keys, never the batches themselves.
	po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               true,
			MinimumSize:           1024,
			MaxBlobReferenceDepth: 50,
			RewriteMinimumAge:     5 * time.Minute,
			TargetGarbageRatio:    0.2,
		}
	}
	po.EnsureDefaults()
	if o.Pebble != nil {
		o.Pebble(po)
	}
	return po
}

// quietLogger drops Pebble's informational chatter but keeps its errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf(format, args...)
}
