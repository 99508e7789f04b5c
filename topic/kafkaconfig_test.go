package topic

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// Kafka parses cleanup.policy as a list split on "\s*,\s*" (ConfigDef
// Type.LIST), so "compact, delete" is as valid as "compact,delete".
func TestCleanupPolicyListWithSpaces(t *testing.T) {
	for _, v := range []string{"compact, delete", "delete , compact", " compact ", "delete,\tcompact"} {
		c := Config{CleanupPolicy: v}
		require.NoError(t, c.Validate(), "%q", v)
	}
	c := Config{CleanupPolicy: "compact, delete"}
	require.True(t, c.Compact())
	require.True(t, c.Delete())
	for _, v := range []string{",", "compact,", "compact,shred", "compactdelete"} {
		require.ErrorIs(t, Config{CleanupPolicy: v}.Validate(), ErrInvalidConfig, "%q", v)
	}
}

// Kafka's LogConfig.validateValues refuses min.compaction.lag.ms above
// max.compaction.lag.ms ("conflict topic config setting"), whether the two
// come in one request or one is already the topic's.
func TestCompactionLagConflict(t *testing.T) {
	var ce *ConfigError
	err := Config{MinCompactionLagMs: "10000", MaxCompactionLagMs: "5000"}.Validate()
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.NoError(t, Config{MinCompactionLagMs: "5000", MaxCompactionLagMs: "5000"}.Validate())

	r := newMemRegistry(t)
	_, err = r.Create("t", 1, Config{MaxCompactionLagMs: "5000"})
	require.NoError(t, err)
	_, err = r.AlterConfig("t", Config{MinCompactionLagMs: "10000"}, nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
	got, err := r.Get("t")
	require.NoError(t, err)
	require.Equal(t, "0", got.Config.Get(MinCompactionLagMs), "a refused alter changed the config")
}

// A key both set and reset in one AlterConfig was set (the set won
// silently). As Kafka refuses a key named twice in one alteration, it is
// refused, and nothing of the call applies.
func TestAlterConfigSetAndResetSameKey(t *testing.T) {
	r := newMemRegistry(t)
	_, err := r.Create("t", 1, Config{RetentionMs: "1000"})
	require.NoError(t, err)
	_, err = r.AlterConfig("t", Config{RetentionMs: "2000", MaxMessageBytes: "2048"}, []string{RetentionMs})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.Equal(t, RetentionMs, ce.Key)
	got, err := r.Get("t")
	require.NoError(t, err)
	require.Equal(t, "1000", got.Config.Get(RetentionMs))
	require.Equal(t, Config{RetentionMs: "1000"}, got.Config, "a refused alter changed the config")
}

// newMemRegistry returns a registry on an in-memory Pebble, closed with t.
func newMemRegistry(t *testing.T) *Registry {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	r, err := Load(Options{DB: db})
	require.NoError(t, err)
	t.Cleanup(func() {
		r.Close()
		db.Close()
	})
	return r
}
