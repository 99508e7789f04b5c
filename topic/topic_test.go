package topic

import (
	"strings"
	"testing"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/stretchr/testify/require"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"orders", true},
		{"a.b_c-D9", true},
		{strings.Repeat("a", 249), true},
		{"...", true}, // only "." and ".." are reserved
		{"", false},
		{".", false},
		{"..", false},
		{strings.Repeat("a", 250), false},
		{"with space", false},
		{"tab\t", false},
		{"slash/", false},
		{"colon:", false},
		{"ünï", false},
	} {
		err := ValidateName(tc.name)
		if tc.ok {
			require.NoError(t, err, tc.name)
		} else {
			require.ErrorIs(t, err, ErrInvalidTopic, tc.name)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, Config(nil).Validate())
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{RetentionMs, "-1", true},
		{RetentionMs, "-2", false},
		{RetentionMs, "1h", false},
		{RetentionBytes, "1073741824", true},
		{MaxMessageBytes, "0", true},
		{MaxMessageBytes, "-1", false},
		{MaxMessageBytes, "4294967296", false},
		{CleanupPolicy, "compact,delete", true},
		{CleanupPolicy, "shred", false},
		{MessageTimestampType, "LogAppendTime", true},
		{MessageTimestampType, "logappendtime", false},
		{CompressionType, "zstd", true},
		{CompressionType, "brotli", false},
		{MinCleanableDirtyRatio, "0.9", true},
		{MinCleanableDirtyRatio, "1.5", false},
		{MaxCompactionLagMs, "0", false},
		{"segment.bytes", "1", false},
		{SegmentBytes, "14", true},
		{SegmentMs, "0", false},
		{Preallocate, "True", true},
		{Preallocate, "1", false},
		{"min.insync.replicas", "1", false}, // not taken: see SegmentBytes
	} {
		err := Config{tc.key: tc.value}.Validate()
		if tc.ok {
			require.NoError(t, err, "%s=%s", tc.key, tc.value)
			continue
		}
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, "%s=%s", tc.key, tc.value)
		require.Equal(t, tc.key, ce.Key)
		require.ErrorIs(t, err, ErrInvalidConfig)
	}
}

func TestConfigDefaultsAndPartition(t *testing.T) {
	var c Config
	require.Equal(t, "604800000", c.Get(RetentionMs))
	require.Equal(t, int64(1048588), c.Int(MaxMessageBytes))
	require.Equal(t, partition.Config{MaxMessageBytes: 1048588, Codec: log.None}, c.Partition())
	c = Config{MaxMessageBytes: "100", MessageTimestampType: "LogAppendTime", CompressionType: "lz4"}
	require.Equal(t, partition.Config{MaxMessageBytes: 100, LogAppendTime: true, Codec: log.LZ4}, c.Partition())
	for _, k := range Keys() {
		def, ok := Default(k)
		require.True(t, ok)
		require.NoError(t, Config{k: def}.Validate(), "the default of %s must be valid", k)
	}
}
