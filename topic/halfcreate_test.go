package topic

import (
	"testing"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// badState makes partition.Open of (topic id, partition) fail, standing in
// for any storage error while a partition opens.
func badState(t *testing.T, db *pebble.DB, id uint32, p uint32) []byte {
	k := log.PartitionPrefix(nil, log.PrefixPartition, id, p)
	require.NoError(t, db.Set(k, []byte{1, 2, 3}, pebble.Sync))
	return k
}

func TestFailedCreateLeavesNoTopic(t *testing.T) {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	defer db.Close()
	r, err := Load(Options{DB: db})
	require.NoError(t, err)
	k := badState(t, db, 1, 1) // the new topic gets id 1; its partition 1 fails
	_, err = r.Create("orders", 2, nil)
	require.ErrorIs(t, err, partition.ErrCorruptStorage)
	_, err = r.Get("orders")
	require.ErrorIs(t, err, ErrUnknownTopic)
	require.NoError(t, r.Close())

	// The failure was transient; after a restart the failed create must
	// have left nothing behind.
	require.NoError(t, db.Delete(k, pebble.Sync))
	r, err = Load(Options{DB: db})
	require.NoError(t, err)
	defer r.Close()
	_, err = r.Get("orders")
	require.ErrorIs(t, err, ErrUnknownTopic, "a failed Create left topic orders behind")
}

func TestFailedAddPartitionsChangesNothing(t *testing.T) {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	require.NoError(t, err)
	defer db.Close()
	r, err := Load(Options{DB: db})
	require.NoError(t, err)
	tp, err := r.Create("orders", 1, nil)
	require.NoError(t, err)
	k := badState(t, db, tp.ID, 2) // growing to 3 fails at partition 2
	_, err = r.AddPartitions("orders", 3)
	require.ErrorIs(t, err, partition.ErrCorruptStorage)
	got, err := r.Get("orders")
	require.NoError(t, err)
	require.Len(t, got.Partitions, 1)
	require.NoError(t, r.Close())

	require.NoError(t, db.Delete(k, pebble.Sync))
	r, err = Load(Options{DB: db})
	require.NoError(t, err)
	defer r.Close()
	got, err = r.Get("orders")
	require.NoError(t, err)
	require.Len(t, got.Partitions, 1, "a failed AddPartitions grew the topic after restart")
}
