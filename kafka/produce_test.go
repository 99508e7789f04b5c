package kafka_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// In a request for many partitions each partition gets the answer, and
// keeps the data, it would get alone: a good batch is stored, a bad one
// (a bad CRC, a record the CRC covers but that does not decode) stores
// nothing and gets the code it gets when sent alone, and an unknown topic
// or a compacted one (whose append decodes records for their keys) beside
// them changes nothing.
func TestProduceManyPartitions(t *testing.T) {
	for _, d := range []cairn.Durability{cairn.SyncAlways, cairn.NoSync} {
		t.Run(d.String(), func(t *testing.T) {
			b, addr := serveDurability(t, d, nil)
			require.NoError(t, b.CreateTopic(ctx, "multi", 4, nil))
			require.NoError(t, b.CreateTopic(ctx, "table", 1, map[string]string{"cleanup.policy": "compact"}))
			r := dialRaw(t, addr)

			badCRC := batch("crc-1", "crc-2")
			badCRC[len(badCRC)-2] ^= 0xff
			badRecord := batch("rec-1", "rec-2")
			badRecord[61] = 0x7f // the first record's length now claims 63 bytes
			binary.BigEndian.PutUint32(badRecord[17:], crc32.Checksum(badRecord[21:], crc32.MakeTable(crc32.Castagnoli)))
			alone := func(records []byte) int16 {
				resp := kmsg.NewPtrProduceResponse()
				resp.SetVersion(9)
				r.roundTrip(produceRequest("multi", 3, records), resp, true)
				return resp.Topics[0].Partitions[0].ErrorCode
			}
			crcCode, recordCode := alone(badCRC), alone(badRecord)
			require.Equal(t, kerr.CorruptMessage.Code, crcCode)
			require.NotZero(t, recordCode)

			req := produceRequest("multi", 0, batch("p0-a", "p0-b"))
			for p, records := range map[int32][]byte{1: badRecord, 2: badCRC, 3: batch("p3")} {
				rp := kmsg.NewProduceRequestTopicPartition()
				rp.Partition, rp.Records = p, records
				req.Topics[0].Partitions = append(req.Topics[0].Partitions, rp)
			}
			for _, name := range []string{"table", "nope"} {
				rt := kmsg.NewProduceRequestTopic()
				rt.Topic = name
				rp := kmsg.NewProduceRequestTopicPartition()
				rp.Records = keyed("k", "v")
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
			}
			resp := kmsg.NewPtrProduceResponse()
			resp.SetVersion(9)
			r.roundTrip(req, resp, true)
			codes := map[string]int16{}
			for _, rt := range resp.Topics {
				for _, rp := range rt.Partitions {
					codes[fmt.Sprintf("%s/%d", rt.Topic, rp.Partition)] = rp.ErrorCode
				}
			}
			require.Equal(t, map[string]int16{
				"multi/0": 0, "multi/1": recordCode, "multi/2": crcCode, "multi/3": 0,
				"table/0": 0, "nope/0": kerr.UnknownTopicOrPartition.Code,
			}, codes)
			for p, want := range []int64{2, 0, 0, 1} {
				_, hwm, err := b.Watermarks("multi", int32(p))
				require.NoError(t, err)
				require.Equal(t, want, hwm, "partition %d", p)
			}
			recs, err := b.Read(ctx, "multi", 0, 0, 1<<20)
			require.NoError(t, err)
			require.Equal(t, "p0-b", string(recs[1].Value))
			recs, err = b.Read(ctx, "table", 0, 0, 1<<20)
			require.NoError(t, err)
			require.Len(t, recs, 1)
			require.Equal(t, "k", string(recs[0].Key))
		})
	}
}

// keyed returns a RecordBatch v2 of one record with a key.
func keyed(key, value string) []byte {
	return recordBatch(1_700_000_000_000, 1, appendRecord(nil, 0, []byte(key), value))
}
