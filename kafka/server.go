package kafka

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cairnlog/cairn"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Options configure a Server. The zero value is valid.
type Options struct {
	// AutoCreateTopics creates unknown topics that clients name in
	// Metadata requests (when the request allows it), as Kafka's
	// auto.create.topics.enable. A request for every topic creates none.
	// Default off.
	AutoCreateTopics bool
	// DefaultPartitions is the partition count of auto-created topics;
	// default 1.
	DefaultPartitions int
	// MaxRequestBytes bounds one request frame; larger ones close the
	// connection. Default 100 MiB, as Kafka's socket.request.max.bytes.
	MaxRequestBytes int
	// AdvertisedAddr is the host:port given to clients in Metadata and
	// FindCoordinator; default the listener's address, or for a listener
	// on every interface (0.0.0.0, ::) the address each client reached.
	// A wildcard host is refused here, as by Kafka.
	AdvertisedAddr string
	// MaxFetchBytes bounds one Fetch answer, whatever the request's
	// MaxBytes (but for a first batch larger than it, so a consumer always
	// progresses); default 55 MiB, as Kafka's fetch.max.bytes.
	MaxFetchBytes int
}

// Server serves the Kafka protocol for one Broker. Each connection has a
// goroutine that reads a request, answers it, and reads the next, so
// responses keep the order of requests as Kafka requires. Close stops the
// listener and every connection.
type Server struct {
	b    *cairn.Broker
	opts Options

	ctx    context.Context // ends with Close: long polls return
	cancel context.CancelFunc

	mu     sync.Mutex // guards conns, lns and closed
	conns  map[net.Conn]struct{}
	lns    []net.Listener
	closed bool
	wg     sync.WaitGroup
}

// Validate reports options Serve would refuse: an AdvertisedAddr that is
// not host:port with a port from 1 to 65535. Zero and negative sizes
// are not errors: they take the defaults.
func (o *Options) Validate() error {
	if o.AdvertisedAddr == "" {
		return nil
	}
	host, _, err := splitAddr(o.AdvertisedAddr)
	if err == nil && unspecified(host) {
		// As Kafka: "advertised.listeners cannot use the nonroutable
		// meta-address 0.0.0.0". A client elsewhere dials its own host.
		err = fmt.Errorf("%w: advertised address %q: %s is not an address clients can connect to", cairn.ErrInvalidOptions, o.AdvertisedAddr, host)
	}
	return err
}

// unspecified reports a wildcard host: 0.0.0.0, ::, or none.
func unspecified(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || ip != nil && ip.IsUnspecified()
}

// splitAddr splits an advertised host:port, whose port goes to clients
// as a Kafka int32 and must name a TCP port.
func splitAddr(addr string) (string, int32, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w: advertised address %q: %v", cairn.ErrInvalidOptions, addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", 0, fmt.Errorf("%w: advertised address %q: port %q is not 1-65535", cairn.ErrInvalidOptions, addr, port)
	}
	return host, int32(p), nil
}

// NewServer returns a server for b; call Serve with a listener.
func NewServer(b *cairn.Broker, opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.DefaultPartitions <= 0 {
		o.DefaultPartitions = 1
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 100 << 20
	}
	if o.MaxFetchBytes <= 0 {
		o.MaxFetchBytes = 55 << 20
	}
	s := &Server{b: b, opts: o, conns: map[net.Conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Serve is NewServer(b, nil).Serve(ln) until ctx is done.
func Serve(ctx context.Context, ln net.Listener, b *cairn.Broker) error {
	s := NewServer(b, nil)
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	err := s.Serve(ln)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Serve accepts connections on ln until Close, which closes ln; it returns
// nil after Close, and cairn.ErrClosed (closing ln) if called after Close.
// Options that fail Validate make it close ln and return their error.
func (s *Server) Serve(ln net.Listener) error {
	host, port, err := s.advertised(ln)
	if err != nil {
		ln.Close() // Serve owns ln, also when it cannot start
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close() // Serve owns ln, as http.Server.Serve does
		return cairn.ErrClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			if !transientAccept(err) {
				// Serve owns ln: it ends with it, as http.Server.Serve's
				// listener does, rather than staying open, accepting
				// nobody, until Close.
				s.dropListener(ln)
				ln.Close()
				return err
			}
			// Out of descriptors or memory for a moment: wait and accept
			// again, as Kafka's acceptor and net/http do, rather than
			// stop serving for good.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
			}
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c, host, port)
	}
}

// dropListener forgets ln, which Close no longer needs to close.
func (s *Server) dropListener(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lns = slices.DeleteFunc(s.lns, func(l net.Listener) bool { return l == ln })
}

// transientAccept reports Accept errors that pass: the process or system
// out of descriptors or buffers, a connection aborted before it was
// accepted, a timeout.
func transientAccept(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED) || (errors.As(err, &ne) && ne.Timeout())
}

// advertised returns the host and port given to clients of ln: the
// AdvertisedAddr, or ln's own address. Each listener has its own, as each
// Kafka listener advertises its own endpoint: clients of one listener
// were told the address of the listener served last.
func (s *Server) advertised(ln net.Listener) (string, int32, error) {
	if s.opts.AdvertisedAddr != "" {
		if err := s.opts.Validate(); err != nil {
			return "", 0, err
		}
		return splitAddr(s.opts.AdvertisedAddr)
	}
	return splitAddr(ln.Addr().String())
}

// Close stops accepting, closes every connection and waits for their
// goroutines. It does not close the Broker.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// conn is one client connection.
type conn struct {
	s        *Server
	nc       net.Conn
	host     string // advertised in Metadata and FindCoordinator
	port     int32
	clientID string // from the last request header
	r        *bufio.Reader
	w        *bufio.Writer

	// finish collects work the current request leaves for the writer
	// before its answer (produce's fsync waits), sent work for after it
	// (a fetch's buffer going back to the pool); out carries answers to
	// the writer in request order.
	finish []func()
	sent   []func()
	out    chan reply
	// durable is closed once the waits of the last request that had any
	// (a produce's fsync) are done: a later request of another kind waits
	// for it, so it sees what the connection produced, as with Kafka,
	// which handles a connection's requests one at a time.
	durable <-chan struct{}
	// fetching holds a token while a Fetch answer is being made or is
	// waiting to be written, so a connection holds one at a time (a
	// client pipelining fetches it does not read would otherwise make
	// the server hold maxInFlight answers).
	fetching chan struct{}

	wbuf []byte // owned by the writer: see write
}

// reply is an answer queued for the writer: it waits for done (the
// request's finish work, which may fill in error codes, running on a
// goroutine of its own), then sends resp, if any, then runs sent.
type reply struct {
	h    header
	resp kmsg.Response
	flex bool
	done <-chan struct{} // closed when the request's finish work is done
	sent []func()
}

// after queues f to run on the writer before this request's answer.
func (c *conn) after(f func()) { c.finish = append(c.finish, f) }

// afterWrite queues f to run on the writer once this request's answer is
// written (or dropped): it frees what the answer uses.
func (c *conn) afterWrite(f func()) { c.sent = append(c.sent, f) }

// maxInFlight bounds the answers a connection queues, as Kafka bounds a
// client's in-flight requests.
const maxInFlight = 32

func (s *Server) serveConn(nc net.Conn, host string, port int32) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		nc.Close()
	}()
	if unspecified(host) && s.opts.AdvertisedAddr == "" {
		// A listener on every interface: advertise the one this client
		// reached (0.0.0.0 or :: sent a client on another host to its own).
		if a, ok := nc.LocalAddr().(*net.TCPAddr); ok && !a.IP.IsUnspecified() {
			host = a.IP.String()
		}
	}
	c := &conn{s: s, nc: nc, host: host, port: port, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10),
		out: make(chan reply, maxInFlight), fetching: make(chan struct{}, 1)}
	written := make(chan struct{})
	go c.writeLoop(written)
	defer func() {
		close(c.out)
		<-written // every queued wait has run
	}()
	for {
		if err := c.serveOne(); err != nil {
			return // a closed or broken connection, or a request we refuse
		}
	}
}

// writeLoop sends answers in request order. After a write error it keeps
// draining (running the waits) until the reader stops.
func (c *conn) writeLoop(done chan<- struct{}) {
	defer close(done)
	broken := false
	for r := range c.out {
		if r.done != nil {
			<-r.done
		}
		if r.resp != nil && !broken {
			if err := c.write(r.h, r.resp, r.flex); err != nil {
				broken = true
				c.nc.Close() // the reader fails and stops
			}
		}
		for _, f := range r.sent {
			f()
		}
	}
}

// errDrop closes the connection without an answer, as Kafka does for
// requests it cannot parse.
var errDrop = errors.New("kafka: drop connection")

// header is a request header (v1, or v2 for flexible requests).
type header struct {
	key, version int16
	correlation  int32
	clientID     string
}

// produceFrames holds the buffers of produce requests, the large ones
// (a batch per partition, up to a megabyte each): a frame goes back to the
// pool once its request is handled, as nothing outlives that. The
// partition copies each batch into its Pebble batch before the append
// returns, and the answer holds only names kmsg copied into strings.
// Other requests get a fresh frame, as their byte fields (a group
// member's metadata, say) alias it and may be kept.
var produceFrames = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledFrame keeps an outsized request's buffer out of the pool.
const maxPooledFrame = 16 << 20

// serveOne reads, handles and answers one request.
func (c *conn) serveOne() error {
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 8 || int(n) > c.s.opts.MaxRequestBytes {
		return errDrop
	}
	var frame []byte
	if key, err := c.r.Peek(2); err == nil && int16(binary.BigEndian.Uint16(key)) == kmsg.Produce.Int16() {
		buf := produceFrames.Get().(*[]byte)
		if cap(*buf) < int(n) {
			*buf = make([]byte, n)
		}
		frame = (*buf)[:n]
		defer func() {
			if cap(*buf) <= maxPooledFrame {
				produceFrames.Put(buf)
			}
		}()
	} else {
		frame = make([]byte, n)
	}
	if _, err := io.ReadFull(c.r, frame); err != nil {
		return err
	}
	h, body, err := parseHeader(frame)
	if err != nil {
		return errDrop
	}
	c.clientID = h.clientID
	api, ok := apis[h.key]
	if !ok || h.version < api.min || h.version > api.max {
		if h.key == kmsg.ApiVersions.Int16() {
			resp := unsupportedVersions()
			resp.SetVersion(0)
			c.out <- reply{h: h, resp: resp}
			return nil
		}
		return errDrop // not advertised: Kafka closes the connection
	}
	req := kmsg.RequestForKey(h.key)
	req.SetVersion(h.version)
	if err := req.ReadFrom(body); err != nil {
		return errDrop
	}
	if h.key != kmsg.Produce.Int16() && c.durable != nil {
		<-c.durable // see durable
	}
	resp, err := api.fn(c.s.ctx, c, req)
	done, sent := c.start(c.finish), c.sent
	c.finish, c.sent = nil, nil
	if err != nil {
		c.out <- reply{done: done, sent: sent}
		return err
	}
	if resp != nil { // nil: acks=0 produce, no answer
		resp.SetVersion(h.version)
	}
	// ApiVersions answers with a v0 response header even when flexible, so
	// clients can read it before they know our versions.
	flex := req.IsFlexible() && h.key != kmsg.ApiVersions.Int16()
	c.out <- reply{h: h, resp: resp, flex: flex, done: done, sent: sent}
	return nil
}

// start runs a request's finish work (a produce's fsync waits) on a
// goroutine of its own, at once: a wait keeps its partition from closing
// and from publishing later appends until it runs, so it must not queue
// behind earlier answers the writer cannot send (a client that stops
// reading would stall the partition for every client). The writer waits
// for the returned channel before it sends the answer; serveConn returns
// only after the writer, so the goroutine ends before the connection.
func (c *conn) start(finish []func()) <-chan struct{} {
	if len(finish) == 0 {
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, f := range finish {
			f()
		}
	}()
	c.durable = done
	return done
}

// parseHeader splits a request frame into header and body.
func parseHeader(f []byte) (header, []byte, error) {
	var h header
	if len(f) < 10 {
		return h, nil, io.ErrUnexpectedEOF
	}
	h.key = int16(binary.BigEndian.Uint16(f))
	h.version = int16(binary.BigEndian.Uint16(f[2:]))
	h.correlation = int32(binary.BigEndian.Uint32(f[4:]))
	idLen := int16(binary.BigEndian.Uint16(f[8:]))
	f = f[10:]
	if idLen > 0 {
		if int(idLen) > len(f) {
			return h, nil, io.ErrUnexpectedEOF
		}
		h.clientID, f = string(f[:idLen]), f[idLen:]
	}
	if req := kmsg.RequestForKey(h.key); req != nil {
		req.SetVersion(h.version)
		if req.IsFlexible() {
			var err error
			if f, err = skipTags(f); err != nil {
				return h, nil, err
			}
		}
	}
	return h, f, nil
}

// skipTags skips a tagged-fields section.
func skipTags(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, io.ErrUnexpectedEOF
	}
	b = b[k:]
	for i := uint64(0); i < n; i++ {
		if _, k = binary.Uvarint(b); k <= 0 {
			return nil, io.ErrUnexpectedEOF
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || size > uint64(len(b)-k) {
			return nil, io.ErrUnexpectedEOF
		}
		b = b[k+int(size):]
	}
	return b, nil
}

// maxKeptWriteBuf bounds the encoding buffer a connection keeps between
// answers; a larger one (an outsized fetch) is dropped after use.
const maxKeptWriteBuf = 16 << 20

// write sends resp with h's correlation id. It runs only on the writer,
// which owns wbuf: answers are encoded into one buffer reused from answer
// to answer, rather than one grown from 256 bytes by doubling for each
// (a fetch answer of 8 MB was allocated and copied several times).
func (c *conn) write(h header, resp kmsg.Response, flexHeader bool) error {
	buf := append(c.wbuf[:0], 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(buf[4:], uint32(h.correlation))
	if flexHeader {
		buf = append(buf, 0) // no tagged fields
	}
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	if cap(buf) <= maxKeptWriteBuf {
		c.wbuf = buf
	} else {
		c.wbuf = nil
	}
	if _, err := c.w.Write(buf); err != nil {
		return err
	}
	return c.w.Flush()
}
