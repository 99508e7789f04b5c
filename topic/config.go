package topic

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
)

// Config holds a topic's configuration overrides by Kafka key name, for
// example {"retention.ms": "3600000"}. Keys not set take their defaults, so a
// nil Config is valid. Config values are strings, as in Kafka's admin API.
type Config map[string]string

// Kafka topic config keys Cairn knows.
const (
	CleanupPolicy          = "cleanup.policy"
	CompressionType        = "compression.type"
	DeleteRetentionMs      = "delete.retention.ms"
	MaxCompactionLagMs     = "max.compaction.lag.ms"
	MaxMessageBytes        = "max.message.bytes"
	MessageTimestampType   = "message.timestamp.type"
	MinCleanableDirtyRatio = "min.cleanable.dirty.ratio"
	MinCompactionLagMs     = "min.compaction.lag.ms"
	RetentionBytes         = "retention.bytes"
	RetentionMs            = "retention.ms"
)

// Kafka topic config keys of its on-disk layout and replication that
// Cairn takes, checks as Kafka does and describes, but which change
// nothing here: Pebble, not segment files, holds the log, it is synced by
// Options.Durability, and there is one replica. Kafka Streams sets
// segment.bytes on the topics it creates, and other tools set the rest:
// refused as unknown keys, those topics could not be created at all.
const (
	SegmentBytes                = "segment.bytes"
	SegmentMs                   = "segment.ms"
	SegmentJitterMs             = "segment.jitter.ms"
	SegmentIndexBytes           = "segment.index.bytes"
	IndexIntervalBytes          = "index.interval.bytes"
	FlushMessages               = "flush.messages"
	FlushMs                     = "flush.ms"
	FileDeleteDelayMs           = "file.delete.delay.ms"
	Preallocate                 = "preallocate"
	UncleanLeaderElectionEnable = "unclean.leader.election.enable"
	MessageDownconversionEnable = "message.downconversion.enable"
)

type spec struct {
	def   string
	check func(string) string // returns "" when valid, else the reason
}

// specs lists every known key with Kafka's default.
var specs = map[string]spec{
	CleanupPolicy:          {"delete", listOf("delete", "compact")},
	CompressionType:        {"producer", oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")},
	DeleteRetentionMs:      {"86400000", intRange(0, math.MaxInt64)},
	MaxCompactionLagMs:     {strconv.FormatInt(math.MaxInt64, 10), intRange(1, math.MaxInt64)},
	MaxMessageBytes:        {"1048588", intRange(0, math.MaxInt32)},
	MessageTimestampType:   {"CreateTime", oneOf("CreateTime", "LogAppendTime")},
	MinCleanableDirtyRatio: {"0.5", floatRange(0, 1)},
	MinCompactionLagMs:     {"0", intRange(0, math.MaxInt64)},
	RetentionBytes:         {"-1", intRange(-1, math.MaxInt64)},
	RetentionMs:            {"604800000", intRange(-1, math.MaxInt64)},

	// No effect in Cairn (see SegmentBytes); Kafka's defaults and bounds.
	SegmentBytes:                {"1073741824", intRange(14, math.MaxInt32)},
	SegmentMs:                   {"604800000", intRange(1, math.MaxInt64)},
	SegmentJitterMs:             {"0", intRange(0, math.MaxInt64)},
	SegmentIndexBytes:           {"10485760", intRange(4, math.MaxInt32)},
	IndexIntervalBytes:          {"4096", intRange(0, math.MaxInt32)},
	FlushMessages:               {strconv.FormatInt(math.MaxInt64, 10), intRange(1, math.MaxInt64)},
	FlushMs:                     {strconv.FormatInt(math.MaxInt64, 10), intRange(0, math.MaxInt64)},
	FileDeleteDelayMs:           {"60000", intRange(0, math.MaxInt64)},
	Preallocate:                 {"false", boolean},
	UncleanLeaderElectionEnable: {"false", boolean},
	MessageDownconversionEnable: {"true", boolean},
}

// boolean checks a value as Kafka parses a BOOLEAN config: true or
// false, in any case.
func boolean(v string) string {
	if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
		return ""
	}
	return "want true or false"
}

func oneOf(vals ...string) func(string) string {
	return func(v string) string {
		if slices.Contains(vals, v) {
			return ""
		}
		return "want one of " + strconv.Quote(vals[0]) + "..."
	}
}

// listOf checks a list value as Kafka parses one (ConfigDef's LIST): items
// split on commas with any spaces around them, each one of vals.
func listOf(vals ...string) func(string) string {
	return func(v string) string {
		for _, item := range strings.Split(v, ",") {
			if !slices.Contains(vals, strings.TrimSpace(item)) {
				return "want a list of " + strings.Join(vals, ", ")
			}
		}
		return ""
	}
}

func intRange(lo, hi int64) func(string) string {
	return func(v string) string {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return "want an integer in [" + strconv.FormatInt(lo, 10) + ", " + strconv.FormatInt(hi, 10) + "]"
		}
		return ""
	}
}

func floatRange(lo, hi float64) func(string) string {
	return func(v string) string {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < lo || f > hi {
			return "want a number in [0, 1]"
		}
		return ""
	}
}

// Keys returns every config key Cairn knows, sorted.
func Keys() []string { return slices.Sorted(maps.Keys(specs)) }

// Default returns the default value of key and whether key is known.
func Default(key string) (string, bool) {
	s, ok := specs[key]
	return s.def, ok
}

// Validate checks every key and value, returning a *ConfigError.
func (c Config) Validate() error {
	for _, k := range slices.Sorted(maps.Keys(c)) {
		s, ok := specs[k]
		if !ok {
			return &ConfigError{Key: k, Value: c[k], Reason: "unknown key"}
		}
		if reason := s.check(c[k]); reason != "" {
			return &ConfigError{Key: k, Value: c[k], Reason: reason}
		}
	}
	// As Kafka's LogConfig.validateValues: the cleaner could not honour
	// both lags (overrides or defaults, so an alter is checked merged).
	if c.Int(MinCompactionLagMs) > c.Int(MaxCompactionLagMs) {
		return &ConfigError{Key: MinCompactionLagMs, Value: c.Get(MinCompactionLagMs),
			Reason: "above " + MaxCompactionLagMs + " " + c.Get(MaxCompactionLagMs)}
	}
	return nil
}

// Get returns the value of key: the override if set, else the default.
func (c Config) Get(key string) string {
	if v, ok := c[key]; ok {
		return v
	}
	return specs[key].def
}

// Int returns a numeric key's value; Validate has vouched for it.
func (c Config) Int(key string) int64 {
	n, _ := strconv.ParseInt(c.Get(key), 10, 64)
	return n
}

// Clone returns a copy that shares nothing with c.
func (c Config) Clone() Config { return maps.Clone(c) }

// Partition returns what a partition enforces of c.
func (c Config) Partition() partition.Config {
	codec := log.None
	switch v := c.Get(CompressionType); v {
	case "producer", "uncompressed":
	default:
		codec, _ = log.ParseCodec(v)
	}
	return partition.Config{
		MaxMessageBytes: int(c.Int(MaxMessageBytes)),
		LogAppendTime:   c.Get(MessageTimestampType) == "LogAppendTime",
		Codec:           codec,
		Compacted:       c.Compact(),
	}
}

// Compact reports whether cleanup.policy includes compact.
func (c Config) Compact() bool { return strings.Contains(c.Get(CleanupPolicy), "compact") }

// Delete reports whether cleanup.policy includes delete (retention).
func (c Config) Delete() bool { return strings.Contains(c.Get(CleanupPolicy), "delete") }

// Float returns a fractional key's value; Validate has vouched for it.
func (c Config) Float(key string) float64 {
	f, _ := strconv.ParseFloat(c.Get(key), 64)
	return f
}
