package kafka

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/cairnlog/cairn/partition"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleProduce appends each partition's record batches. Every batch is
// validated (CRC, magic 2, records) by the partition, stamped with offsets
// and stored verbatim. Appends start here, in request order; the wait for
// their fsync runs on the connection's writer, so the next request is read
// and appended meanwhile (pipelining, as Kafka's in-flight requests). With
// acks=0 nothing is answered.
func handleProduce(ctx context.Context, c *conn, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		*rt = kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
				*rp = kmsg.NewProduceResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.BaseOffset = p.Partition, kerr.InvalidRequiredAcks.Code, -1 // as Kafka: nothing appended
				continue
			}
			*rp = c.s.producePartition(ctx, c, req, t.Topic, p, rp)
		}
	}
	if req.Acks == 0 {
		// No answer to carry an error: as Kafka, a failed acks=0 produce
		// closes the connection, so the client learns something went
		// wrong. (The partitions that appended keep their records.)
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if rp.ErrorCode != 0 {
					return nil, errDrop
				}
			}
		}
		return nil, nil
	}
	return resp, nil
}

// producePartition starts the appends of one partition's batches and
// queues, on c, the wait that fills in rp's error once they are durable.
func (s *Server) producePartition(ctx context.Context, c *conn, req *kmsg.ProduceRequest, topic string,
	p kmsg.ProduceRequestTopicPartition, rp *kmsg.ProduceResponseTopicPartition) kmsg.ProduceResponseTopicPartition {
	out := kmsg.NewProduceResponseTopicPartition()
	out.Partition, out.BaseOffset = p.Partition, -1 // as Kafka for a partition that failed
	if req.TransactionID != nil {
		out.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code // transactions come later
		return out
	}
	batches, ok := splitBatches(p.Records)
	switch {
	case !ok:
		out.ErrorCode = kerr.CorruptMessage.Code
		return out
	case len(batches) == 0:
		// As Kafka (ProduceRequest.validateRecords): not retriable, as
		// CORRUPT_MESSAGE is; a retry would send nothing again.
		out.ErrorCode = kerr.InvalidRecord.Code
		return out
	case len(batches) > 1:
		// As Kafka for produce v3+: one batch per partition, so a request
		// is all-or-nothing per partition and a retry cannot store part
		// of it twice.
		out.ErrorCode = kerr.InvalidRecord.Code
		return out
	}
	// One lookup for the append and the answer: looked up again after
	// the append, the partition could be another incarnation's (the
	// topic deleted and created again meanwhile).
	part, err := s.b.Partition(topic, p.Partition)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		out.ErrorCode = partitionCode(err)
		return out
	}
	// The partition reads the config it stamps with. Unless a config
	// change ran between the append and its answer, it is this one;
	// else the stored batch tells whether it was LogAppendTime.
	cfg := part.ConfigRef()
	var waits []func() error
	for i, raw := range batches {
		base, wait, err := part.AppendBatchAsync(ctx, raw)
		if err != nil {
			out.ErrorCode = partitionCode(err)
			break
		}
		waits = append(waits, wait)
		if i == 0 {
			out.BaseOffset = base
		}
	}
	out.LogStartOffset = part.LogStart()
	if len(waits) > 0 {
		base := out.BaseOffset
		c.after(func() {
			for _, wait := range waits {
				if err := wait(); err != nil && rp.ErrorCode == 0 {
					rp.ErrorCode, rp.BaseOffset = partitionCode(err), -1
				}
			}
			if rp.ErrorCode != 0 {
				return
			}
			if changed := part.ConfigRef() != cfg; changed || cfg.LogAppendTime {
				rp.LogAppendTime = appendTime(part, base, cfg.LogAppendTime)
			}
		})
	}
	return out
}

// appendTime returns the time the partition stamped on its batch at base,
// which Kafka answers (a retry's is the stored original's): clients give
// it to the records they produced; -1 if the batch was stored with its
// create time (its topic was CreateTime when it was appended).
// stamped is whether the topic was LogAppendTime before the append.
func appendTime(part *partition.Partition, base int64, stamped bool) int64 {
	// The batch read holds base unless retention or the cleaner removed
	// the one that did (a retry's original may be long gone): then the
	// time is about when it was stamped, as Cairn keeps no other record
	// of it (Kafka keeps it with the producer's recent batches).
	if f, err := part.Read(base, 0); err == nil && len(f.Batches) > 0 && f.Batches[0].BaseOffset() <= base {
		if !f.Batches[0].LogAppendTime() {
			return -1
		}
		return f.Batches[0].MaxTimestamp().UnixMilli()
	}
	if !stamped {
		return -1
	}
	return time.Now().UnixMilli()
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
