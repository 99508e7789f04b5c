package kafka

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
)

// ServeFrame answers one request frame (without its size prefix) as a
// connection would, with handlers bounded by ctx, and returns what it
// wrote. s must not be serving: this replaces its context.
func ServeFrame(ctx context.Context, s *Server, frame []byte) ([]byte, error) {
	s.ctx = ctx
	in := bytes.NewReader(append(binary.BigEndian.AppendUint32(nil, uint32(len(frame))), frame...))
	var out bytes.Buffer
	c := &conn{s: s, r: bufio.NewReader(in), w: bufio.NewWriter(&out), out: make(chan reply, 1), fetching: make(chan struct{}, 1)}
	done := make(chan struct{})
	go c.writeLoop(done)
	err := c.serveOne()
	close(c.out)
	<-done
	return out.Bytes(), err
}

// SetOffsetForTimeHook runs f between a ListOffsets by time's lookup and
// its read, until the returned func resets it.
func SetOffsetForTimeHook(f func()) (reset func()) {
	offsetForTimeHook = f
	return func() { offsetForTimeHook = nil }
}
