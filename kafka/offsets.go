package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets' special timestamps.
const (
	latestTimestamp   = -1
	earliestTimestamp = -2
)

func handleListOffsets(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition = p.Partition
			rp.Timestamp = -1
			start, hwm, err := c.s.b.Watermarks(t.Topic, p.Partition)
			switch {
			case err != nil:
				rp.ErrorCode = partitionCode(err)
			case p.Timestamp == latestTimestamp:
				rp.Offset = hwm
			case p.Timestamp == earliestTimestamp:
				rp.Offset = start
			case p.Timestamp < 0:
				rp.ErrorCode = kerr.UnsupportedVersion.Code // max timestamp (-3) and others
			default:
				rp.Offset, rp.Timestamp, rp.ErrorCode = c.s.offsetForTime(ctx, t.Topic, p.Partition, p.Timestamp)
			}
			if req.Version == 0 {
				rp.OldStyleOffsets = []int64{rp.Offset}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// offsetForTime answers a ListOffsets by time as Kafka does: the first
// record at or after ms, with its own timestamp; offset and timestamp -1
// when there is none.
func (s *Server) offsetForTime(ctx context.Context, topic string, p int32, ms int64) (int64, int64, int16) {
	// The record is found, then read for its timestamp. Retention or
	// DeleteRecords may remove it in between: look again, as the answer
	// is then a later record (Kafka reads both under one lock, so its
	// clients never see this race as an error).
	for range offsetForTimeTries {
		off, ok, err := s.b.OffsetForTime(ctx, topic, p, time.UnixMilli(ms))
		if err != nil {
			return -1, -1, partitionCode(err)
		}
		if !ok {
			return -1, -1, 0 // no record that recent
		}
		if offsetForTimeHook != nil {
			offsetForTimeHook()
		}
		recs, err := s.b.Read(ctx, topic, p, off, 1)
		switch {
		case errors.Is(err, cairn.ErrOffsetOutOfRange):
			continue // the log start moved past it
		case err != nil:
			return -1, -1, partitionCode(err)
		case len(recs) > 0 && recs[0].Offset == off:
			return off, recs[0].Timestamp.UnixMilli(), 0
		}
	}
	// Removed under every look: deletions faster than two reads.
	return -1, -1, kerr.UnknownServerError.Code
}

// offsetForTimeTries bounds offsetForTime's looks.
const offsetForTimeTries = 8

// offsetForTimeHook, when set (by tests), runs between offsetForTime's
// lookup and its read.
var offsetForTimeHook func()

// handleOffsetForLeaderEpoch answers with the log end: this broker's
// leader epoch is always 0, so every epoch ends at the high watermark.
func handleOffsetForLeaderEpoch(_ context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			rp.Partition = p.Partition
			_, hwm, err := c.s.b.Watermarks(t.Topic, p.Partition)
			rp.ErrorCode, rp.LeaderEpoch, rp.EndOffset = partitionCode(err), 0, hwm
			if err != nil { // as Kafka: undefined epoch and offset
				rp.LeaderEpoch, rp.EndOffset = -1, -1
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func handleInitProducerID(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code // transactions come later
		return resp, nil
	}
	id, epoch, err := c.s.b.InitProducerID(ctx)
	resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = code(err), id, epoch
	return resp, nil
}
