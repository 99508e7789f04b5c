package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/stretchr/testify/require"
)

// deletesFirst is a data directory backend on which, after consume took
// the partitions' ends and before it fetched, the partition's records are
// deleted up to its end: by retention in `cairn serve`, or by an admin's
// DeleteRecords (kafka-delete-records.sh) through the listener.
type deletesFirst struct {
	*local
}

func (d deletesFirst) Consumer(ctx context.Context, o sourceOptions) (source, error) {
	if err := d.b.DeleteRecords(ctx, o.Topic, 0, 2); err != nil {
		return nil, err
	}
	return d.local.Consumer(ctx, o)
}

// consume without --follow ends when the records it had left to print
// were deleted meanwhile: the partition's log start reached the end it
// waited for, so nothing below it comes. It waited for ever, with and
// without a group.
func TestConsumeEndsWhenRestDeleted(t *testing.T) {
	for _, grp := range []string{"", "g"} {
		t.Run("group="+grp, func(t *testing.T) {
			l, err := openLocal(filepath.Join(t.TempDir(), "data"))
			require.NoError(t, err)
			defer l.Close()
			require.NoError(t, l.CreateTopic(ctx, "d", 1, nil))
			_, err = l.b.Append(ctx, "d", 0, cairn.Record{Value: []byte("a")}, cairn.Record{Value: []byte("b")})
			require.NoError(t, err)

			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var out syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- consume(cctx, stdio{out: &out, err: &out}, deletesFirst{l}, "d", consumeFlags{group: grp, format: `%v\n`})
			}()
			select {
			case err := <-done:
				require.NoError(t, err)
				require.Empty(t, out.String())
			case <-time.After(10 * time.Second):
				cancel()
				<-done
				t.Fatal("consume without --follow hung on a partition whose records were deleted")
			}
		})
	}
}
