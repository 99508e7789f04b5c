package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// remote is a backend on a Kafka listener, through franz-go: kadm for
// administration, a kgo client per producer and consumer.
type remote struct {
	seed string
	cl   *kgo.Client
	adm  *kadm.Client
}

// retryTimeout bounds how long a request is retried (a listener that is
// down, say) before the command fails.
const retryTimeout = 15 * time.Second

func newRemote(seed string) (*remote, error) {
	cl, err := kgo.NewClient(clientOpts(seed)...)
	if err != nil {
		return nil, err
	}
	return &remote{seed: seed, cl: cl, adm: kadm.NewClient(cl)}, nil
}

func clientOpts(seed string, more ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(seed), kgo.ClientID("cairn-cli"), kgo.RetryTimeout(retryTimeout)}
	return append(opts, more...)
}

func (r *remote) Close() error {
	r.cl.Close()
	return nil
}

func (r *remote) Topics(ctx context.Context) ([]string, error) {
	ts, err := r.adm.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	return ts.Names(), ts.Error()
}

func (r *remote) CreateTopic(ctx context.Context, name string, partitions int, cfg map[string]string) error {
	configs := make(map[string]*string, len(cfg))
	for k, v := range cfg {
		configs[k] = kadm.StringPtr(v)
	}
	resp, err := r.adm.CreateTopic(ctx, int32(partitions), -1, configs, name)
	return withMessage(err, resp.ErrMessage)
}

func (r *remote) DeleteTopic(ctx context.Context, name string) error {
	resp, err := r.adm.DeleteTopic(ctx, name)
	return withMessage(err, resp.ErrMessage)
}

// withMessage adds the server's message to a Kafka error code's error: it
// says what was wrong (which config, say) where the code is generic.
func withMessage(err error, msg string) error {
	if err == nil || msg == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, msg)
}

func (r *remote) DescribeTopic(ctx context.Context, name string) (topicInfo, error) {
	parts, err := r.Partitions(ctx, name)
	if err != nil {
		return topicInfo{}, err
	}
	rcs, err := r.adm.DescribeTopicConfigs(ctx, name)
	if err != nil {
		return topicInfo{}, err
	}
	rc, err := rcs.On(name, nil)
	if err != nil {
		return topicInfo{}, err
	}
	info := topicInfo{Name: name, Partitions: parts}
	if md, err := r.adm.Metadata(ctx, name); err == nil {
		if d, ok := md.Topics[name]; ok && d.Err == nil {
			info.ID = topicIDString(d.ID)
		}
	}
	for _, c := range rc.Configs {
		info.Config = append(info.Config, cairn.ConfigEntry{Key: c.Key, Value: c.MaybeValue(),
			IsDefault: c.Source == kmsg.ConfigSourceDefaultConfig})
	}
	slices.SortFunc(info.Config, func(a, b cairn.ConfigEntry) int { return strings.Compare(a.Key, b.Key) })
	return info, nil
}

// topicIDString shows a Kafka topic id as describe --dir shows Cairn's:
// a Cairn listener's ids are "cairn-topic-" and Cairn's id (see the kafka
// package), shown as that number; another broker's as Kafka shows it.
func topicIDString(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return "" // a broker without topic ids
	}
	if n, ok := kafka.TopicID(id); ok {
		return fmt.Sprint(n)
	}
	return id.String()
}

func (r *remote) Partitions(ctx context.Context, name string) ([]cairn.PartitionInfo, error) {
	starts, err := r.adm.ListStartOffsets(ctx, name)
	if err != nil {
		return nil, err
	}
	ends, err := r.adm.ListEndOffsets(ctx, name)
	if err != nil {
		return nil, err
	}
	err = starts.Error() // ends.Error() is the same error, for a missing topic
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("topic %q: %w", name, err)
	}
	var out []cairn.PartitionInfo
	for p, end := range ends[name] {
		out = append(out, cairn.PartitionInfo{Partition: p, LogStart: starts[name][p].Offset, HighWatermark: end.Offset})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %q", cairn.ErrUnknownTopic, name)
	}
	slices.SortFunc(out, func(a, b cairn.PartitionInfo) int { return int(a.Partition - b.Partition) })
	return out, nil
}

func (r *remote) Producer(_ context.Context, manual bool) (sink, error) {
	more := []kgo.Opt{kgo.AllowAutoTopicCreation(), // a server that auto-creates topics creates them, as for kcat
		// A record is not retried for ever (kgo's default), so a
		// listener that is down fails the command as it does the others.
		kgo.RecordDeliveryTimeout(retryTimeout)}
	if manual {
		more = append(more, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := kgo.NewClient(clientOpts(r.seed, more...)...)
	if err != nil {
		return nil, err
	}
	return remoteSink{cl}, nil
}

type remoteSink struct{ cl *kgo.Client }

func (s remoteSink) Send(ctx context.Context, recs []*cairn.Record) []error {
	krecs := make([]*kgo.Record, len(recs))
	index := make(map[*kgo.Record]int, len(recs))
	for i, r := range recs {
		krecs[i] = toKgo(r)
		index[krecs[i]] = i
	}
	errs := make([]error, len(recs))
	// ProduceSync's results come in the order the records completed,
	// not the order given: match each to its record.
	for _, res := range s.cl.ProduceSync(ctx, krecs...) {
		i := index[res.Record]
		errs[i] = res.Err
		recs[i].Partition, recs[i].Offset = res.Record.Partition, res.Record.Offset
	}
	return errs
}

func (s remoteSink) Close(ctx context.Context) error {
	err := s.cl.Flush(ctx)
	s.cl.Close()
	return err
}

func (r *remote) Consumer(_ context.Context, opts sourceOptions) (source, error) {
	start := kgo.NewOffset().AtStart()
	switch opts.From.kind {
	case latest:
		start = kgo.NewOffset().AtEnd()
	case exact:
		start = kgo.NewOffset().At(opts.From.offset)
	}
	src := &remoteSource{topic: opts.Topic, mine: map[int32]bool{}}
	more := []kgo.Opt{kgo.ConsumeTopics(opts.Topic), kgo.ConsumeResetOffset(start)}
	if opts.Group != "" {
		more = append(more, kgo.ConsumerGroup(opts.Group), kgo.DisableAutoCommit(),
			kgo.OnPartitionsAssigned(src.assigned), kgo.OnPartitionsRevoked(src.revoked),
			kgo.OnPartitionsLost(src.revoked))
	}
	cl, err := kgo.NewClient(clientOpts(r.seed, more...)...)
	if err != nil {
		return nil, err
	}
	src.cl = cl
	return src, nil
}

type remoteSource struct {
	cl    *kgo.Client
	topic string

	mu     sync.Mutex // guards joined and mine, set by the group's callbacks
	joined bool
	mine   map[int32]bool
}

func (s *remoteSource) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.joined = true // kgo calls this after every rebalance, even with nothing new
	for _, p := range m[s.topic] {
		s.mine[p] = true
	}
}

func (s *remoteSource) revoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range m[s.topic] {
		delete(s.mine, p)
	}
}

func (s *remoteSource) Assigned() (map[int32]bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.mine), s.joined
}

func (s *remoteSource) Poll(ctx context.Context) ([]*cairn.Record, error) {
	fs := s.cl.PollFetches(ctx)
	if fs.IsClientClosed() {
		return nil, cairn.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var errs []error
	fs.EachError(func(t string, p int32, err error) {
		errs = append(errs, fmt.Errorf("%s/%d: %w", t, p, err))
	})
	var recs []*cairn.Record
	fs.EachRecord(func(r *kgo.Record) { recs = append(recs, fromKgo(r)) })
	return recs, errors.Join(errs...)
}

func (s *remoteSource) Commit(ctx context.Context, next map[int32]int64) error {
	offs := map[string]map[int32]kgo.EpochOffset{s.topic: {}}
	for p, off := range next {
		offs[s.topic][p] = kgo.EpochOffset{Epoch: -1, Offset: off}
	}
	var err error
	s.cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, cerr error) {
		err = cerr
		if resp == nil {
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				err = errors.Join(err, kerr.ErrorForCode(p.ErrorCode))
			}
		}
	})
	return err
}

func (s *remoteSource) Close() error {
	s.cl.Close() // leaves the group
	return nil
}

func toKgo(r *cairn.Record) *kgo.Record {
	k := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
	for _, h := range r.Headers {
		k.Headers = append(k.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return k
}

func fromKgo(k *kgo.Record) *cairn.Record {
	r := &cairn.Record{Topic: k.Topic, Partition: k.Partition, Key: k.Key, Value: k.Value,
		Timestamp: k.Timestamp, Offset: k.Offset}
	for _, h := range k.Headers {
		r.Headers = append(r.Headers, cairn.Header{Key: h.Key, Value: h.Value})
	}
	return r
}

func (r *remote) Groups(ctx context.Context) ([]groupListing, error) {
	gs, err := r.adm.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	var out []groupListing
	for _, g := range gs.Sorted() {
		out = append(out, groupListing{Group: g.Group, State: g.State, ProtocolType: g.ProtocolType})
	}
	return out, nil
}

func (r *remote) DescribeGroup(ctx context.Context, id string) (groupInfo, error) {
	ds, err := r.adm.DescribeGroups(ctx, id)
	if err != nil {
		return groupInfo{}, err
	}
	d, ok := ds[id]
	switch {
	case !ok || d.State == "Dead":
		return groupInfo{}, fmt.Errorf("%w: %q", cairn.ErrUnknownGroup, id)
	case d.Err != nil:
		return groupInfo{}, d.Err
	}
	g := groupInfo{Group: d.Group, State: d.State, ProtocolType: d.ProtocolType, Protocol: d.Protocol}
	for _, m := range d.Members {
		mi := memberInfo{ID: m.MemberID, ClientID: m.ClientID}
		if m.InstanceID != nil {
			mi.InstanceID = *m.InstanceID
		}
		if c, ok := m.Assigned.AsConsumer(); ok {
			mi.Assigned = consumerPartitions(c)
		}
		g.Members = append(g.Members, mi)
	}
	return g, nil
}

func (r *remote) Committed(ctx context.Context, id, topic string) (map[int32]int64, error) {
	offs, err := r.adm.FetchOffsetsForTopics(ctx, id, topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for p, o := range offs[topic] {
		if o.Err == nil && o.At >= 0 {
			out[p] = o.At
		}
	}
	return out, nil
}

func (r *remote) Lag(ctx context.Context, id string) ([]group.Lag, error) {
	offs, err := r.adm.FetchOffsets(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := offs.Error(); err != nil {
		return nil, err
	}
	if len(offs) == 0 {
		// No offsets: the group may not exist (Kafka answers an empty
		// OffsetFetch either way); fail as --dir does if it does not.
		if _, err := r.DescribeGroup(ctx, id); err != nil {
			return nil, err
		}
	}
	ends, err := r.adm.ListEndOffsets(ctx, offs.Partitions().Topics()...)
	if err != nil {
		return nil, err
	}
	var out []group.Lag
	for _, o := range offs.Sorted() {
		end, ok := ends.Lookup(o.Topic, o.Partition)
		if !ok || end.Err != nil {
			return nil, fmt.Errorf("%s/%d: no end offset: %v", o.Topic, o.Partition, end.Err)
		}
		out = append(out, group.Lag{TopicPartition: group.TopicPartition{Topic: o.Topic, Partition: o.Partition},
			Committed: o.At, HighWatermark: end.Offset, Lag: max(0, end.Offset-o.At)})
	}
	return out, nil
}

func (r *remote) DeleteGroup(ctx context.Context, id string) error {
	_, err := r.adm.DeleteGroup(ctx, id)
	return err
}

func (r *remote) ResetOffsets(ctx context.Context, id, topic string, to offsetSpec) (map[int32]int64, error) {
	// As kafka-consumer-groups.sh: only a group without members is reset.
	// The commit below would be refused for one with members anyway, but
	// as UNKNOWN_MEMBER_ID, which does not say why.
	ds, err := r.adm.DescribeGroups(ctx, id)
	if err != nil {
		return nil, err
	}
	if d, ok := ds[id]; ok && d.Err == nil && len(d.Members) > 0 {
		return nil, fmt.Errorf("%w: %q has %d members (%s): stop its consumers first",
			group.ErrNonEmptyGroup, id, len(d.Members), d.State)
	}
	parts, err := r.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	offs := kadm.Offsets{}
	out := map[int32]int64{}
	for _, p := range parts {
		if to.kind == exact && (to.offset < p.LogStart || to.offset > p.HighWatermark) {
			return nil, fmt.Errorf("%w: %s/%d: %d outside [%d, %d]", cairn.ErrInvalidOffset,
				topic, p.Partition, to.offset, p.LogStart, p.HighWatermark)
		}
		out[p.Partition] = to.resolve(p.LogStart, p.HighWatermark)
		offs.AddOffset(topic, p.Partition, out[p.Partition], -1)
	}
	resps, err := r.adm.CommitOffsets(ctx, id, offs)
	if err != nil {
		return nil, err
	}
	return out, resps.Error()
}

func consumerPartitions(a *kmsg.ConsumerMemberAssignment) []group.TopicPartition {
	var out []group.TopicPartition
	for _, t := range a.Topics {
		for _, p := range t.Partitions {
			out = append(out, group.TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	return out
}
