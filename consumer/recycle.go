package consumer

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cairnlog/cairn/partition"
)

// fetcherInto is the optional Broker method that copies fetched batches
// into a buffer the consumer reuses (*cairn.Broker has it); without it
// each fetch copies into fresh memory and only the records are reused.
type fetcherInto interface {
	FetchInto(ctx context.Context, buf []byte, topic string, partition int32, offset int64, maxBytes int) (partition.Fetch, []byte, error)
}

// topicIDer is the optional Broker method naming a topic's incarnation
// (*cairn.Broker has it), so that a consumer notices a topic deleted and
// created again between two fetches.
type topicIDer interface {
	TopicID(topic string) (uint32, error)
}

// slab is the memory of one fetch from one partition: the batches copied
// out of storage, the records decoded from them (their keys, values and
// header values alias the batches) and the pointers Polls hand out.
// Fetches.Recycle puts slabs back in slabPool for later fetches.
type slab struct {
	data []byte
	recs []Record
	ptrs []*Record
	// refs counts the slab's holders: the fetch that filled it until its
	// records are handed out or the cursor keeps the rest in its buf, and
	// each Fetches that returned some of them. At zero it is reused.
	// A holder the consumer loses track of (a Seek, a rewind, a reset or
	// a rebalance dropping a cursor's buf) never releases: the slab is
	// then left to the garbage collector, which is always safe.
	refs atomic.Int32
	// reused is set once the slab was recycled. Only then do fetches copy
	// into data: a consumer whose Polls are not recycled gets each batch
	// copied into memory of its exact size, not into a growing buffer
	// that would allocate more than the batches take.
	reused bool
	// external is set when the records were decoded from batches outside
	// data (a first fill, or a Broker without FetchInto): they then point
	// into memory the pool must not keep alive.
	external bool
}

var slabPool = sync.Pool{New: func() any { return new(slab) }}

// maxPooledSlab keeps a slab from an outsized fetch out of the pool, so
// one large read does not stay in memory for good. It bounds the batches'
// bytes and the decoded records together.
const maxPooledSlab = 64 << 20

var recordSize = int(unsafe.Sizeof(Record{}))

func getSlab() *slab {
	s := slabPool.Get().(*slab)
	s.refs.Store(1)
	return s
}

func (s *slab) release() {
	if s.refs.Add(-1) != 0 {
		return
	}
	if cap(s.data)+cap(s.recs)*recordSize+cap(s.ptrs)*8 > maxPooledSlab {
		return // left to the garbage collector
	}
	if s.external {
		clear(s.recs[:cap(s.recs)]) // drop the keys and values of memory not the slab's
		s.external = false
	}
	s.reused = true
	slabPool.Put(s)
}

// fetchMem is what a Fetches holds of pooled memory.
type fetchMem struct {
	slabs []*slab
	// ptrs backs Records when a Poll returned records of several
	// partitions (with one, Records is the slab's own ptrs).
	ptrs     *[]*Record
	recycled atomic.Bool
}

var ptrsPool = sync.Pool{New: func() any { return new([]*Record) }}

// hold makes *m, allocated if nil, one of s's holders.
func hold(m **fetchMem, s *slab) {
	if *m == nil {
		*m = &fetchMem{}
	}
	s.refs.Add(1)
	(*m).slabs = append((*m).slabs, s)
}

// Recycle gives the memory of f's records back to the consumer package
// for later Polls, of this consumer or any other, to decode into: the
// Records slice, the Records, and the bytes of their keys, values and
// headers. Nothing of f may be used after Recycle — copy what must be
// kept first. Calling Recycle is optional: a Fetches that is not recycled
// is ordinary memory for the garbage collector. When a fetch's records
// are split over several Polls (MaxPollRecords), their memory is reused
// once every one of those Polls is recycled; until then Recycle only
// lets go of f's share.
//
// A loop that handles each Poll's records before the next Poll can
// recycle them and leave the garbage collector almost nothing to do: a
// Poll of 100-byte records otherwise allocates about 260 bytes a record.
// Recycling the same Fetches twice does nothing the second time. Records
// from the Records iterator are never recycled.
func (f Fetches) Recycle() {
	m := f.mem
	if m == nil || !m.recycled.CompareAndSwap(false, true) {
		return
	}
	for _, s := range m.slabs {
		s.release()
	}
	if m.ptrs != nil {
		clear(*m.ptrs) // keep no records alive from the pool
		*m.ptrs = (*m.ptrs)[:0]
		ptrsPool.Put(m.ptrs)
	}
}
