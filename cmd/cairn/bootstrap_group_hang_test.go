package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
)

// commitsFirst is a backend on which another member of the group commits
// the whole topic after this consume computed what it had to print and
// before it joined: as when several `consume --group` start together.
type commitsFirst struct {
	backend
	adm  *kadm.Client
	offs kadm.Offsets
}

func (c commitsFirst) Consumer(ctx context.Context, o sourceOptions) (source, error) {
	if _, err := c.adm.CommitOffsets(ctx, o.Group, c.offs); err != nil {
		return nil, err
	}
	return c.backend.Consumer(ctx, o)
}

// consume --group without --follow ends when another member has printed
// and committed what it was to print: it waited for ever for records past
// the committed offsets.
func TestGroupConsumeOthersCommitted(t *testing.T) {
	r := servedABC(t)
	offs := kadm.Offsets{}
	offs.AddOffset("t", 0, 3, -1)
	be := commitsFirst{backend: r, adm: r.adm, offs: offs}

	done := make(chan error, 1)
	var out syncBuffer
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		done <- consume(cctx, stdio{out: &out, err: &out}, be, "t", consumeFlags{group: "g", format: `%v\n`})
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
		require.Empty(t, out.String())
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		t.Fatal("consume --group hung on a partition another member had committed to its end")
	}
}
