package kafka

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleProduce appends each partition's record batches. Every batch is
// validated (CRC, magic 2, records) by the partition, stamped with offsets
// and stored verbatim. With acks=0 nothing is answered.
func handleProduce(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, c.s.producePartition(ctx, req, t.Topic, p))
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if req.Acks == 0 {
		return nil, nil
	}
	return resp, nil
}

func (s *Server) producePartition(ctx context.Context, req *kmsg.ProduceRequest, topic string, p kmsg.ProduceRequestTopicPartition) kmsg.ProduceResponseTopicPartition {
	rp := kmsg.NewProduceResponseTopicPartition()
	rp.Partition = p.Partition
	if req.TransactionID != nil {
		rp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code // transactions come later
		return rp
	}
	batches, ok := splitBatches(p.Records)
	if !ok || len(batches) == 0 {
		rp.ErrorCode = kerr.CorruptMessage.Code
		return rp
	}
	for i, raw := range batches {
		base, err := s.b.AppendBatch(ctx, topic, p.Partition, raw)
		if err != nil {
			rp.ErrorCode = code(err)
			return rp
		}
		if i == 0 {
			rp.BaseOffset = base
		}
	}
	if part, err := s.b.Partition(topic, p.Partition); err == nil {
		rp.LogStartOffset = part.LogStart()
		if part.Config().LogAppendTime {
			// The partition stamped the batch at about this time.
			rp.LogAppendTime = time.Now().UnixMilli()
		}
	}
	return rp
}

// splitBatches splits a produce request's records into batches by their
// length fields; ok is false if the bytes do not divide into batches.
func splitBatches(b []byte) ([][]byte, bool) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 12 {
			return nil, false
		}
		n := int(int32(binary.BigEndian.Uint32(b[8:]))) + 12
		if n < 12 || n > len(b) {
			return nil, false
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, true
}
