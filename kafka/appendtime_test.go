package kafka_test

import (
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// A produce to a LogAppendTime topic is answered with the time stamped on
// the stored batch, which clients give the records they produced; a retry
// of a stored batch gets the original's time (UnifiedLog.append sets
// logAppendTime to the duplicate's timestamp), and a failed partition -1.
// The listener answered its own clock's time after the append.
func TestProduceLogAppendTimeIsStored(t *testing.T) {
	b, addr := serve(t, nil)
	require.NoError(t, b.CreateTopic(ctx, "keep", 1, cairn.TopicConfig{"message.timestamp.type": "LogAppendTime"}))
	r := dialRaw(t, addr)
	id, epoch, err := b.InitProducerID(ctx)
	require.NoError(t, err)
	first := produce(t, r, idemBatch(id, epoch, 0, "a"))
	require.Zero(t, first.ErrorCode)
	recs, err := b.Read(ctx, "keep", 0, 0, 1<<20)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	stored := recs[0].Timestamp.UnixMilli()

	time.Sleep(50 * time.Millisecond)
	retry := produce(t, r, idemBatch(id, epoch, 0, "a"))
	require.Zero(t, retry.ErrorCode)
	t.Logf("stored %d, answered %d then %d on retry", stored, first.LogAppendTime, retry.LogAppendTime)
	require.Equal(t, stored, first.LogAppendTime)
	require.Equal(t, stored, retry.LogAppendTime, "a retry is answered with the stored batch's time")

	gap := produce(t, r, idemBatch(id, epoch, 5, "b"))
	require.Equal(t, kerr.OutOfOrderSequenceNumber.Code, gap.ErrorCode)
	require.Equal(t, int64(-1), gap.LogAppendTime, "nothing was appended")
}
