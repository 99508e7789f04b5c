package topic

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
	"github.com/cockroachdb/pebble/v2"
)

// MaxPartitions bounds the partition count of one topic.
const MaxPartitions = 1 << 16

// Topic is an immutable snapshot of one topic. Changes (new config, more
// partitions) replace the snapshot; the partitions themselves are shared.
type Topic struct {
	Name       string
	ID         uint32
	Config     Config
	Partitions []*partition.Partition
}

// descriptor is a topic's persisted form under t|name.
type descriptor struct {
	ID         uint32 `json:"id"`
	Partitions int    `json:"partitions"`
	Config     Config `json:"config,omitempty"`
}

// Options configure a Registry.
type Options struct {
	DB *pebble.DB
	// Sync makes partition appends and registry changes wait for fsync.
	Sync bool
	// Now is the partitions' clock; nil means time.Now.
	Now func() time.Time
}

// Registry owns the topics of one broker. Lookups read an immutable map
// through an atomic pointer and take no lock; changes are serialized by mu.
type Registry struct {
	opts   Options
	topics atomic.Pointer[map[string]*Topic]

	mu struct {
		sync.Mutex
		nextID uint32
		closed bool
	}
}

var nextIDKey = []byte{log.PrefixMeta, 'n', 'e', 'x', 't', 'I', 'D'}

// Load opens the registry and every stored topic's partitions.
func Load(o Options) (*Registry, error) {
	r := &Registry{opts: o}
	r.mu.nextID = 1
	if v, closer, err := o.DB.Get(nextIDKey); err == nil {
		if len(v) == 4 {
			r.mu.nextID = binary.BigEndian.Uint32(v)
		}
		closer.Close()
	} else if err != pebble.ErrNotFound {
		return nil, err
	}
	topics, err := r.loadTopics()
	if err != nil {
		return nil, err
	}
	r.topics.Store(&topics)
	return r, nil
}

func (r *Registry) loadTopics() (map[string]*Topic, error) {
	prefix := []byte{log.PrefixTopic}
	it, err := r.opts.DB.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: log.PrefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	topics := map[string]*Topic{}
	for ok := it.First(); ok; ok = it.Next() {
		name := string(it.Key()[1:])
		var d descriptor
		if err := json.Unmarshal(it.Value(), &d); err != nil {
			closeAll(topics)
			return nil, fmt.Errorf("%w: topic %q descriptor: %v", partition.ErrCorruptStorage, name, err)
		}
		t := &Topic{Name: name, ID: d.ID, Config: d.Config}
		if err := r.openPartitions(t, d.Partitions); err != nil {
			closeAll(topics)
			return nil, err
		}
		topics[name] = t
	}
	return topics, it.Error()
}

// openPartitions opens t's partitions up to n.
func (r *Registry) openPartitions(t *Topic, n int) error {
	for i := len(t.Partitions); i < n; i++ {
		p, err := partition.Open(partition.Options{
			DB: r.opts.DB, Topic: t.Name, TopicID: t.ID, Partition: int32(i),
			Config: t.Config.Partition(), Sync: r.opts.Sync, Now: r.opts.Now,
		})
		if err != nil {
			return err
		}
		t.Partitions = append(t.Partitions, p)
	}
	return nil
}

func closeAll(topics map[string]*Topic) {
	for _, t := range topics {
		for _, p := range t.Partitions {
			p.Close()
		}
	}
}

// Get returns the current snapshot of topic name.
func (r *Registry) Get(name string) (*Topic, error) {
	if t, ok := (*r.topics.Load())[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
}

// Partition returns partition p of topic name.
func (r *Registry) Partition(name string, p int32) (*partition.Partition, error) {
	t, err := r.Get(name)
	if err != nil {
		return nil, err
	}
	if p < 0 || int(p) >= len(t.Partitions) {
		return nil, &UnknownPartitionError{Topic: name, Partition: p}
	}
	return t.Partitions[p], nil
}

// List returns every topic, sorted by name.
func (r *Registry) List() []*Topic {
	m := *r.topics.Load()
	out := make([]*Topic, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// lock takes mu, failing once the registry is closed.
func (r *Registry) lock() error {
	r.mu.Lock()
	if r.mu.closed {
		r.mu.Unlock()
		return partition.ErrClosed
	}
	return nil
}

// swap replaces (or with t == nil removes) topic name in the map; mu held.
func (r *Registry) swap(name string, t *Topic) {
	m := maps.Clone(*r.topics.Load())
	if t == nil {
		delete(m, name)
	} else {
		m[name] = t
	}
	r.topics.Store(&m)
}

func (r *Registry) writeOpts() *pebble.WriteOptions {
	if r.opts.Sync {
		return pebble.Sync
	}
	return pebble.NoSync
}

func topicKey(name string) []byte { return append([]byte{log.PrefixTopic}, name...) }

func (r *Registry) putDescriptor(b *pebble.Batch, t *Topic, partitions int) error {
	v, err := json.Marshal(descriptor{ID: t.ID, Partitions: partitions, Config: t.Config})
	if err != nil {
		return err
	}
	return b.Set(topicKey(t.Name), v, nil)
}

// Close closes every partition; later changes fail with ErrClosed. It does
// not close the DB.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return nil
	}
	r.mu.closed = true
	closeAll(*r.topics.Load())
	return nil
}
