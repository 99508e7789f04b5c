package topic

import (
	"encoding/binary"
	"fmt"
	"maps"

	"github.com/cairnlog/cairn/log"
	"github.com/cairnlog/cairn/partition"
)

// Create adds topic name with n partitions and the given config overrides.
// Each topic gets a fresh ID that is never reused, so data of a deleted
// topic can never show through a new one of the same name.
func (r *Registry) Create(name string, n int, cfg Config) (*Topic, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxPartitions {
		return nil, fmt.Errorf("%w: %d, want 1 to %d", ErrInvalidPartitions, n, MaxPartitions)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := r.lock(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	if err := CheckNew(name, maps.Keys(*r.topics.Load())); err != nil {
		return nil, err
	}
	t := &Topic{Name: name, ID: r.mu.nextID, Config: cfg.Clone()}
	// Open the partitions (which only read) before the descriptor is
	// written, so that a failure leaves nothing stored: a descriptor
	// without its open partitions would bring the topic back on restart.
	if err := r.openPartitions(t, n); err != nil {
		closePartitions(t.Partitions)
		return nil, err
	}
	b := r.opts.DB.NewBatch()
	defer b.Close()
	err := r.putDescriptor(b, t, n)
	if err == nil {
		err = b.Set(nextIDKey, binary.BigEndian.AppendUint32(nil, t.ID+1), nil)
	}
	if err == nil {
		err = r.opts.DB.Apply(b, r.writeOpts())
	}
	if err != nil {
		closePartitions(t.Partitions)
		return nil, err
	}
	r.mu.nextID++
	r.swap(name, t)
	return t, nil
}

func closePartitions(ps []*partition.Partition) {
	for _, p := range ps {
		p.Close()
	}
}

// Delete removes topic name and all its data: its partitions close (calls
// in flight finish first), then its keys go in one range deletion.
func (r *Registry) Delete(name string) error {
	if err := r.lock(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	t, err := r.Get(name)
	if err != nil {
		return err
	}
	for _, p := range t.Partitions {
		p.Close()
	}
	b := r.opts.DB.NewBatch()
	defer b.Close()
	err = b.Delete(topicKey(name), nil)
	for _, prefix := range log.PartitionPrefixes {
		if err == nil {
			p := log.TopicPrefix(nil, prefix, t.ID)
			err = b.DeleteRange(p, log.PrefixEnd(p), nil)
		}
	}
	if err == nil {
		err = r.opts.DB.Apply(b, r.writeOpts())
	}
	if err != nil {
		// Nothing was deleted: bring the topic back as it was.
		reopened := &Topic{Name: t.Name, ID: t.ID, Config: t.Config}
		if oerr := r.openPartitions(reopened, len(t.Partitions)); oerr == nil {
			r.swap(name, reopened)
		}
		return err
	}
	r.swap(name, nil)
	return nil
}

// AlterConfig sets and resets (back to the default) config keys of topic
// name. The whole change is validated first; a bad key, or one both set and
// reset, changes nothing.
func (r *Registry) AlterConfig(name string, set Config, reset []string) (*Topic, error) {
	if err := r.lock(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	t, err := r.Get(name)
	if err != nil {
		return nil, err
	}
	cfg := t.Config.Clone()
	if cfg == nil {
		cfg = Config{}
	}
	for _, k := range reset {
		if _, ok := specs[k]; !ok {
			return nil, &ConfigError{Key: k, Reason: "unknown key"}
		}
		if v, ok := set[k]; ok {
			// Which one was meant? Kafka refuses a key named twice in
			// one alteration (INVALID_REQUEST) rather than pick.
			return nil, &ConfigError{Key: k, Value: v, Reason: "both set and reset"}
		}
		delete(cfg, k)
	}
	for k, v := range set {
		cfg[k] = v
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Compact() && !t.Config.Compact() {
		// A compacted partition's key index is written with each append:
		// records appended without compaction are not in it, and Get
		// would answer from an older record of their key. Only a topic
		// without records, counting appends in flight, can become
		// compacted; appends wait until the new config is in force.
		for _, p := range t.Partitions {
			end, release := p.HoldAppends()
			defer release()
			if end > p.LogStart() {
				return nil, &ConfigError{Key: CleanupPolicy, Value: cfg.Get(CleanupPolicy),
					Reason: fmt.Sprintf("partition %d holds records appended without compaction, which its key index would miss; compact a new topic", p.Index())}
			}
		}
	}
	nt := &Topic{Name: t.Name, ID: t.ID, Config: cfg, Partitions: t.Partitions}
	if err := r.persist(nt); err != nil {
		return nil, err
	}
	for _, p := range nt.Partitions {
		p.SetConfig(cfg.Partition())
	}
	r.swap(name, nt)
	return nt, nil
}

// AddPartitions grows topic name to total partitions. As in Kafka, the
// count can only grow. Unlike Kafka, a compacted topic that holds records
// cannot grow (ErrInvalidPartitions): Get finds a key in partition
// murmur2(key) mod the count, so stored keys would no longer be found.
func (r *Registry) AddPartitions(name string, total int) (*Topic, error) {
	if err := r.lock(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	t, err := r.Get(name)
	if err != nil {
		return nil, err
	}
	if total <= len(t.Partitions) || total > MaxPartitions {
		return nil, fmt.Errorf("%w: %d, topic %q has %d and can grow to %d",
			ErrInvalidPartitions, total, name, len(t.Partitions), MaxPartitions)
	}
	if t.Config.Compact() {
		// Get finds a key in partition murmur2(key) mod the count: with
		// more partitions, keys already stored would be looked up in the
		// wrong one. Only a compacted topic without records can grow;
		// appends wait until it has.
		for _, p := range t.Partitions {
			end, release := p.HoldAppends()
			defer release()
			if end > p.LogStart() {
				return nil, fmt.Errorf("%w: compacted topic %q holds records in partition %d, which Get would look for in other partitions once it has %d",
					ErrInvalidPartitions, name, p.Index(), total)
			}
		}
	}
	nt := &Topic{Name: t.Name, ID: t.ID, Config: t.Config,
		Partitions: append([]*partition.Partition(nil), t.Partitions...)}
	nt.Partitions = nt.Partitions[:len(t.Partitions)]
	// Open first, persist second, as Create: a failure changes nothing.
	err = r.openPartitions(nt, total)
	if err == nil {
		err = r.persistN(nt, total)
	}
	if err != nil {
		closePartitions(nt.Partitions[len(t.Partitions):])
		return nil, err
	}
	r.swap(name, nt)
	return nt, nil
}

func (r *Registry) persist(t *Topic) error { return r.persistN(t, len(t.Partitions)) }

func (r *Registry) persistN(t *Topic, partitions int) error {
	b := r.opts.DB.NewBatch()
	defer b.Close()
	if err := r.putDescriptor(b, t, partitions); err != nil {
		return err
	}
	return r.opts.DB.Apply(b, r.writeOpts())
}
