package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/consumer"
	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/producer"
)

// local is a backend on a data directory, which it opens for itself.
type local struct {
	b *cairn.Broker
}

func openLocal(dir string) (*local, error) {
	// No background cleanup: a command runs briefly, and `cairn serve`
	// does the cleaning.
	b, err := cairn.Open(dir, &cairn.Options{CleanupInterval: -1})
	if errors.Is(err, cairn.ErrLocked) {
		return nil, errInUse(dir)
	}
	if err != nil {
		return nil, err
	}
	return &local{b: b}, nil
}

func (l *local) Close() error { return l.b.Close() }

func (l *local) Topics(ctx context.Context) ([]string, error) { return l.b.Topics(ctx) }

func (l *local) CreateTopic(ctx context.Context, name string, partitions int, cfg map[string]string) error {
	return l.b.CreateTopic(ctx, name, partitions, cfg)
}

func (l *local) DeleteTopic(ctx context.Context, name string) error {
	return l.b.DeleteTopic(ctx, name)
}

func (l *local) DescribeTopic(ctx context.Context, name string) (topicInfo, error) {
	t, err := l.b.DescribeTopic(ctx, name)
	if err != nil {
		return topicInfo{}, err
	}
	return topicInfo{Name: t.Name, ID: fmt.Sprint(t.ID), Partitions: t.Partitions, Config: t.Config}, nil
}

func (l *local) Partitions(ctx context.Context, name string) ([]cairn.PartitionInfo, error) {
	t, err := l.b.DescribeTopic(ctx, name)
	return t.Partitions, err
}

func (l *local) Producer(ctx context.Context, manual bool) (sink, error) {
	var opts producer.Options
	if manual {
		opts.Partitioner = producer.Manual()
	}
	p, err := producer.New(ctx, l.b, &opts)
	if err != nil {
		return nil, err
	}
	return localSink{p}, nil
}

type localSink struct{ p *producer.Producer }

func (s localSink) Send(ctx context.Context, recs []*cairn.Record) []error {
	errs := make([]error, len(recs))
	for i, r := range s.p.ProduceSync(ctx, recs...) {
		errs[i] = r.Err
	}
	return errs
}

func (s localSink) Close(ctx context.Context) error { return s.p.Close(ctx) }

func (l *local) Consumer(_ context.Context, opts sourceOptions) (source, error) {
	o := consumer.Options{Topics: []string{opts.Topic}, Group: opts.Group, DisableAutoCommit: true}
	switch opts.From.kind {
	case earliest:
		o.Start = consumer.Earliest()
	case latest:
		o.Start = consumer.Latest()
	default:
		o.Start = consumer.At(opts.From.offset)
	}
	c, err := consumer.New(l.b, &o)
	if err != nil {
		return nil, err
	}
	return &localSource{c: c, topic: opts.Topic}, nil
}

type localSource struct {
	c     *consumer.Consumer
	topic string
}

func (s *localSource) Poll(ctx context.Context) ([]*cairn.Record, error) {
	f, err := s.c.Poll(ctx)
	if err != nil {
		return nil, err
	}
	return f.Records, f.Err()
}

func (s *localSource) Commit(ctx context.Context, next map[int32]int64) error {
	offs := make(map[group.TopicPartition]group.Committed, len(next))
	for p, off := range next {
		offs[group.TopicPartition{Topic: s.topic, Partition: p}] = group.Committed{Offset: off}
	}
	return s.c.Commit(ctx, offs)
}

func (s *localSource) Close() error { return s.c.Close() }

// Assigned counts the member as joined once it has partitions: the CLI
// holds the directory, so no other member can hold any.
func (s *localSource) Assigned() (map[int32]bool, bool) {
	mine := map[int32]bool{}
	for _, tp := range s.c.Assignment() {
		if tp.Topic == s.topic {
			mine[tp.Partition] = true
		}
	}
	return mine, len(mine) > 0
}

func (l *local) Groups(ctx context.Context) ([]groupListing, error) {
	gs, err := l.b.Groups().ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]groupListing, len(gs))
	for i, g := range gs {
		out[i] = groupListing{Group: g.Group, State: g.State.String(), ProtocolType: g.ProtocolType}
	}
	return out, nil
}

func (l *local) DescribeGroup(ctx context.Context, id string) (groupInfo, error) {
	d, err := l.b.Groups().DescribeGroup(ctx, id)
	if err != nil {
		return groupInfo{}, err
	}
	g := groupInfo{Group: d.Group, State: d.State.String(), ProtocolType: d.ProtocolType, Protocol: d.Protocol}
	for _, m := range d.Members {
		g.Members = append(g.Members, memberInfo{ID: m.MemberID, InstanceID: m.InstanceID,
			ClientID: m.ClientID, Assigned: decodeAssignment(d.ProtocolType, m.Assignment)})
	}
	return g, nil
}

func (l *local) Committed(ctx context.Context, id, topic string) (map[int32]int64, error) {
	offs, err := l.b.Groups().FetchOffsets(ctx, id)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for tp, c := range offs {
		if tp.Topic == topic && c.Offset >= 0 {
			out[tp.Partition] = c.Offset
		}
	}
	return out, nil
}

func (l *local) Lag(ctx context.Context, id string) ([]group.Lag, error) {
	return l.b.Groups().Lag(ctx, id)
}

func (l *local) DeleteGroup(ctx context.Context, id string) error {
	return l.b.Groups().DeleteGroup(ctx, id)
}

func (l *local) ResetOffsets(ctx context.Context, id, topic string, to offsetSpec) (map[int32]int64, error) {
	parts, err := l.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	tps := make([]group.TopicPartition, len(parts))
	for i, p := range parts {
		tps[i] = group.TopicPartition{Topic: topic, Partition: p.Partition}
	}
	target := group.ToEarliest()
	switch to.kind {
	case latest:
		target = group.ToLatest()
	case exact:
		target = group.ToOffset(to.offset)
	}
	if err := l.b.Groups().ResetOffsets(ctx, id, target, tps...); err != nil {
		return nil, err
	}
	return l.Committed(ctx, id, topic)
}
