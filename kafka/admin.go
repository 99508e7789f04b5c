package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/topic"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func errMessage(err error) *string {
	if err == nil {
		return nil
	}
	return kmsg.StringPtr(err.Error())
}

func handleCreateTopics(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		n, err := c.s.createTopic(ctx, t, req.ValidateOnly)
		rt.ErrorCode, rt.ErrorMessage = code(err), errMessage(err)
		if info, ierr := c.s.b.DescribeTopic(ctx, t.Topic); err == nil && ierr == nil && !req.ValidateOnly {
			rt.TopicID, rt.NumPartitions, rt.ReplicationFactor = topicUUID(info.ID), int32(len(info.Partitions)), 1
		} else if err == nil {
			rt.NumPartitions, rt.ReplicationFactor = int32(n), 1 // as Kafka: what would be created
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// createTopic creates t, or with validateOnly makes the same checks, and
// returns its partition count.
func (s *Server) createTopic(ctx context.Context, t kmsg.CreateTopicsRequestTopic, validateOnly bool) (int, error) {
	if rf := t.ReplicationFactor; rf != -1 && rf != 1 {
		return 0, fmt.Errorf("%w: replication factor %d on a single broker", kerr.InvalidReplicationFactor, rf)
	}
	n := int(t.NumPartitions)
	if len(t.ReplicaAssignment) > 0 {
		// As Kafka: an assignment stands for the count and factor, which
		// must then be -1; its partitions must be 0..n-1, each on live
		// brokers (here the one, nodeID) named once.
		if t.NumPartitions != -1 || t.ReplicationFactor != -1 {
			return 0, fmt.Errorf("%w: both a partition count or replication factor and a replica assignment", cairn.ErrInvalidArgument)
		}
		seen := make(map[int32]bool, len(t.ReplicaAssignment))
		for _, a := range t.ReplicaAssignment {
			if a.Partition < 0 || int(a.Partition) >= len(t.ReplicaAssignment) || seen[a.Partition] {
				return 0, fmt.Errorf("%w: partitions should be a consecutive 0-based sequence", kerr.InvalidReplicaAssignment)
			}
			seen[a.Partition] = true
			if len(a.Replicas) != 1 || a.Replicas[0] != nodeID {
				return 0, fmt.Errorf("%w: partition %d on brokers %v; the only broker is %d", kerr.InvalidReplicaAssignment, a.Partition, a.Replicas, nodeID)
			}
		}
		n = len(t.ReplicaAssignment)
	}
	if n == -1 {
		n = s.opts.DefaultPartitions
	}
	cfg := cairn.TopicConfig{}
	var nulls []string
	for _, kv := range t.Configs {
		if kv.Value == nil {
			nulls = append(nulls, kv.Name)
			continue
		}
		cfg[kv.Name] = *kv.Value
	}
	if len(nulls) > 0 {
		// As Kafka: a null value is refused, not taken for the default.
		return n, fmt.Errorf("%w: null value not supported for topic configs: %s", cairn.ErrInvalidConfig, strings.Join(nulls, ","))
	}
	if !validateOnly {
		return n, s.b.CreateTopic(ctx, t.Topic, n, cfg)
	}
	// The checks of topic.Registry.Create, in its order.
	if err := topic.ValidateName(t.Topic); err != nil {
		return n, err
	}
	if n < 1 || n > topic.MaxPartitions {
		return n, cairn.ErrInvalidPartitions
	}
	if err := topic.Config(cfg).Validate(); err != nil {
		return n, err
	}
	names, err := s.b.Topics(ctx)
	if err != nil {
		return n, err
	}
	return n, topic.CheckNew(t.Topic, slices.Values(names))
}

func handleDeleteTopics(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	names := req.TopicNames
	for _, t := range req.Topics {
		if t.Topic != nil {
			names = append(names, *t.Topic)
		}
	}
	for _, name := range names {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic = kmsg.StringPtr(name)
		if info, err := c.s.b.DescribeTopic(ctx, name); err == nil {
			rt.TopicID = topicUUID(info.ID)
		}
		err := c.s.b.DeleteTopic(ctx, name)
		rt.ErrorCode, rt.ErrorMessage = code(err), errMessage(err)
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func handleCreatePartitions(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		var err error
		if req.ValidateOnly {
			err = validatePartitions(ctx, c.s.b, t.Topic, int(t.Count))
		} else {
			err = c.s.b.CreatePartitions(ctx, t.Topic, int(t.Count))
		}
		rt.ErrorCode, rt.ErrorMessage = code(err), errMessage(err)
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// validatePartitions makes CreatePartitions' checks without the change.
func validatePartitions(ctx context.Context, b *cairn.Broker, name string, total int) error {
	info, err := b.DescribeTopic(ctx, name)
	if err != nil {
		return err
	}
	if n := len(info.Partitions); total <= n || total > topic.MaxPartitions {
		return fmt.Errorf("%w: %d, topic %q has %d and can grow to %d",
			cairn.ErrInvalidPartitions, total, name, n, topic.MaxPartitions)
	}
	cfg := topic.Config{}
	for _, e := range info.Config {
		cfg[e.Key] = e.Value
	}
	if !cfg.Compact() {
		return nil
	}
	for _, p := range info.Partitions {
		if p.HighWatermark > p.LogStart {
			return fmt.Errorf("%w: compacted topic %q holds records in partition %d", cairn.ErrInvalidPartitions, name, p.Partition)
		}
	}
	return nil
}

func handleDescribeConfigs(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, r := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			info, err := c.s.b.DescribeTopic(ctx, r.ResourceName)
			rr.ErrorCode, rr.ErrorMessage = code(err), errMessage(err)
			for _, e := range info.Config {
				// As Kafka: no names, null or an empty list, means all.
				if len(r.ConfigNames) > 0 && !slices.Contains(r.ConfigNames, e.Key) {
					continue
				}
				rc := kmsg.NewDescribeConfigsResponseResourceConfig()
				rc.Name, rc.Value, rc.IsDefault = e.Key, kmsg.StringPtr(e.Value), e.IsDefault
				rc.Source = kmsg.ConfigSourceDynamicTopicConfig
				if e.IsDefault {
					rc.Source = kmsg.ConfigSourceDefaultConfig
				}
				rr.Configs = append(rr.Configs, rc)
			}
		case kmsg.ConfigResourceTypeBroker:
			// No broker configs are exposed; answer with none.
		default:
			rr.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// handleAlterConfigs replaces a topic's whole config, as the legacy
// AlterConfigs does: keys not given go back to their defaults.
func handleAlterConfigs(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	dup := duplicateResources(req.Resources, func(r kmsg.AlterConfigsRequestResource) configResource {
		return configResource{r.ResourceType, r.ResourceName}
	})
	for _, r := range req.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		set := cairn.TopicConfig{}
		var err error
		if dup[configResource{r.ResourceType, r.ResourceName}] {
			err = errDuplicateResource
		}
		// As Kafka (ConfigAdminManager.preprocess): one value per key,
		// and no null ones (the legacy call resets by leaving a key out).
		for _, kv := range r.Configs {
			if _, ok := set[kv.Name]; ok && err == nil {
				err = fmt.Errorf("%w: duplicate config key %s", cairn.ErrInvalidArgument, kv.Name)
			}
			if kv.Value == nil && err == nil {
				err = fmt.Errorf("%w: null value not supported for %s", cairn.ErrInvalidArgument, kv.Name)
			}
			if kv.Value != nil {
				set[kv.Name] = *kv.Value
			}
		}
		if err != nil {
			rr.ErrorCode, rr.ErrorMessage = code(err), errMessage(err)
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		var reset []string
		for _, k := range topic.Keys() {
			if _, ok := set[k]; !ok {
				reset = append(reset, k)
			}
		}
		err = c.s.alterTopic(ctx, r.ResourceType, r.ResourceName, set, reset, req.ValidateOnly)
		rr.ErrorCode, rr.ErrorMessage = code(err), errMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// configResource names a resource of AlterConfigs or
// IncrementalAlterConfigs.
type configResource struct {
	kind kmsg.ConfigResourceType
	name string
}

var errDuplicateResource = fmt.Errorf("%w: each resource must appear at most once", cairn.ErrInvalidArgument)

// duplicateResources returns the resources named more than once in rs,
// which Kafka (ConfigAdminManager.preprocess) refuses, every one of them,
// with INVALID_REQUEST.
func duplicateResources[R any](rs []R, id func(R) configResource) map[configResource]bool {
	seen, dup := map[configResource]bool{}, map[configResource]bool{}
	for _, r := range rs {
		k := id(r)
		dup[k] = seen[k]
		seen[k] = true
	}
	return dup
}

func handleIncrementalAlterConfigs(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	dup := duplicateResources(req.Resources, func(r kmsg.IncrementalAlterConfigsRequestResource) configResource {
		return configResource{r.ResourceType, r.ResourceName}
	})
	for _, r := range req.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		set, reset := cairn.TopicConfig{}, []string(nil)
		var err error
		if dup[configResource{r.ResourceType, r.ResourceName}] {
			rr.ErrorCode, rr.ErrorMessage = code(errDuplicateResource), errMessage(errDuplicateResource)
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		seen := map[string]bool{}
		for _, kv := range r.Configs {
			switch {
			case seen[kv.Name]:
				// As Kafka (ConfigAdminManager.preprocess): one op per key.
				err = fmt.Errorf("%w: duplicate config key %s", cairn.ErrInvalidArgument, kv.Name)
			case kv.Op == kmsg.IncrementalAlterConfigOpSet && kv.Value != nil:
				set[kv.Name] = *kv.Value
			case kv.Op == kmsg.IncrementalAlterConfigOpDelete:
				reset = append(reset, kv.Name)
			case (kv.Op == kmsg.IncrementalAlterConfigOpAppend || kv.Op == kmsg.IncrementalAlterConfigOpSubtract) && kv.Value != nil:
				var v string
				if v, err = c.s.listOp(ctx, r, kv); err == nil {
					set[kv.Name] = v
				}
			default:
				err = fmt.Errorf("%w: config op %v on %s", cairn.ErrInvalidArgument, kv.Op, kv.Name)
			}
			if err != nil {
				break
			}
			seen[kv.Name] = true
		}
		if err == nil {
			err = c.s.alterTopic(ctx, r.ResourceType, r.ResourceName, set, reset, req.ValidateOnly)
		}
		rr.ErrorCode, rr.ErrorMessage = code(err), errMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// listOp applies an APPEND or SUBTRACT to a list config (of Cairn's
// topic configs, cleanup.policy), as Kafka does: the values of kv, comma
// separated, are added to the current list where missing, or taken out of
// it. The current list is the topic's. Kafka refuses both on a config
// that is not a list.
func (s *Server) listOp(ctx context.Context, r kmsg.IncrementalAlterConfigsRequestResource, kv kmsg.IncrementalAlterConfigsRequestResourceConfig) (string, error) {
	if kv.Name != topic.CleanupPolicy {
		if _, ok := topic.Default(kv.Name); !ok {
			return "", &topic.ConfigError{Key: kv.Name, Reason: "unknown key"}
		}
		return "", &topic.ConfigError{Key: kv.Name, Value: *kv.Value, Reason: fmt.Sprintf("%v needs a list config", kv.Op)}
	}
	if r.ResourceType != kmsg.ConfigResourceTypeTopic {
		return "", fmt.Errorf("%w: only topic configs can be altered", cairn.ErrInvalidArgument)
	}
	info, err := s.b.DescribeTopic(ctx, r.ResourceName)
	if err != nil {
		return "", err
	}
	var cur string
	for _, e := range info.Config {
		if e.Key == kv.Name {
			cur = e.Value
		}
	}
	var list []string
	for _, v := range strings.Split(cur, ",") {
		if v = strings.TrimSpace(v); v != "" {
			list = append(list, v)
		}
	}
	for _, v := range strings.Split(*kv.Value, ",") {
		v = strings.TrimSpace(v)
		switch i := slices.Index(list, v); {
		case v == "":
		case kv.Op == kmsg.IncrementalAlterConfigOpAppend && i < 0:
			list = append(list, v)
		case kv.Op == kmsg.IncrementalAlterConfigOpSubtract && i >= 0:
			list = slices.Delete(list, i, i+1)
		}
	}
	return strings.Join(list, ","), nil
}

func (s *Server) alterTopic(ctx context.Context, kind kmsg.ConfigResourceType, name string, set cairn.TopicConfig, reset []string, validateOnly bool) error {
	if kind != kmsg.ConfigResourceTypeTopic {
		return fmt.Errorf("%w: only topic configs can be altered", cairn.ErrInvalidArgument)
	}
	if validateOnly {
		info, err := s.b.DescribeTopic(ctx, name)
		if err != nil {
			return err
		}
		for _, k := range reset {
			if _, ok := topic.Default(k); !ok {
				return &topic.ConfigError{Key: k, Reason: "unknown key"}
			}
		}
		// topic.Registry.AlterConfig's checks on the merged config: its
		// values (min.compaction.lag.ms against the topic's max, say),
		// and only a topic without records can become compacted.
		cur, next := topic.Config{}, topic.Config{}
		for _, e := range info.Config {
			if !e.IsDefault {
				cur[e.Key], next[e.Key] = e.Value, e.Value
			}
		}
		for _, k := range reset {
			delete(next, k)
		}
		maps.Copy(next, set)
		if err := next.Validate(); err != nil {
			return err
		}
		if next.Compact() && !cur.Compact() {
			for _, p := range info.Partitions {
				if p.HighWatermark > p.LogStart {
					return &topic.ConfigError{Key: topic.CleanupPolicy, Value: next.Get(topic.CleanupPolicy),
						Reason: fmt.Sprintf("partition %d holds records appended without compaction, which its key index would miss; compact a new topic", p.Partition)}
				}
			}
		}
		return nil
	}
	return s.b.AlterTopicConfig(ctx, name, set, reset...)
}

func handleDeleteRecords(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		// As Kafka: a topic whose cleanup.policy lacks delete (a table)
		// refuses, once its partition is known to exist.
		compactOnly := false
		if info, err := c.s.b.DescribeTopic(ctx, t.Topic); err == nil {
			for _, e := range info.Config {
				if e.Key == topic.CleanupPolicy {
					compactOnly = !strings.Contains(e.Value, "delete")
				}
			}
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition = p.Partition
			if compactOnly {
				if _, _, err := c.s.b.Watermarks(t.Topic, p.Partition); err == nil {
					rp.ErrorCode, rp.LowWatermark = kerr.PolicyViolation.Code, -1
					rt.Partitions = append(rt.Partitions, rp)
					continue
				}
			}
			before := p.Offset
			if before == -1 { // -1: up to the high watermark
				_, hwm, err := c.s.b.Watermarks(t.Topic, p.Partition)
				if err != nil {
					rp.ErrorCode, rp.LowWatermark = partitionCode(err), -1
					rt.Partitions = append(rt.Partitions, rp)
					continue
				}
				before = hwm
			}
			err := c.s.b.DeleteRecords(ctx, t.Topic, p.Partition, before)
			rp.ErrorCode, rp.LowWatermark = partitionCode(err), -1 // as Kafka when it fails
			if start, _, werr := c.s.b.Watermarks(t.Topic, p.Partition); err == nil && werr == nil {
				rp.LowWatermark = start
			}
			if errors.Is(err, cairn.ErrOffsetOutOfRange) {
				rp.ErrorCode = kerr.OffsetOutOfRange.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
