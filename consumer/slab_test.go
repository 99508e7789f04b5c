package consumer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A slab goes back to the pool without the keys and values of memory it
// does not own (a first fill, or a Broker without FetchInto, decodes from
// batches outside data), so the pool keeps no old fetch alive; and a slab
// larger than maxPooledSlab, counting its records, is left to the GC.
func TestSlabRelease(t *testing.T) {
	s := &slab{}
	s.refs.Store(1)
	s.recs = append(s.recs, Record{Key: []byte("k"), Value: []byte("v")})
	s.external = true
	s.release()
	require.True(t, s.reused, "pooled")
	require.False(t, s.external)
	require.Nil(t, s.recs[:1][0].Key)
	require.Nil(t, s.recs[:1][0].Value)

	big := &slab{recs: make([]Record, 0, maxPooledSlab/recordSize+1)}
	big.refs.Store(1)
	big.release()
	require.False(t, big.reused, "records alone over maxPooledSlab: not pooled")

	held := &slab{}
	held.refs.Store(2)
	held.release()
	require.False(t, held.reused, "another holder remains")
}
