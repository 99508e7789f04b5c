package main

import (
	"context"
	"strings"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// ctrlCInSend is a sink whose Send sees Ctrl-C arrive while it sends:
// it cancels the command's ctx, then appends unless its own ctx ended.
type ctrlCInSend struct {
	cancel func()
	sent   int
}

func (s *ctrlCInSend) Send(ctx context.Context, recs []*cairn.Record) []error {
	s.cancel()
	errs := make([]error, len(recs))
	for i, r := range recs {
		if errs[i] = ctx.Err(); errs[i] == nil {
			r.Partition, r.Offset = 0, int64(s.sent)
			s.sent++
		}
	}
	return errs
}

func (s *ctrlCInSend) Close(context.Context) error { return nil }

// A Ctrl-C while a batch is being sent cut the send: records a broker
// may already have appended were reported failed (exit 1). The batch read
// is now sent whole and reported, and no more is read.
func TestProduceInterruptFinishesBatch(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &ctrlCInSend{cancel: cancel}
	var out, errb strings.Builder
	n, err := sendLines(cctx, stdio{in: strings.NewReader("a\nb\n"), out: &out, err: &errb}, s, "t", produceFlags{partition: -1})
	require.NoError(t, err)
	require.Equal(t, s.sent, n, "every record sent is reported")
	require.NotZero(t, n)
	require.Equal(t, n, strings.Count(out.String(), "offset"))
}
