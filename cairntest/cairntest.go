package cairntest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/kafka"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure NewBroker, NewKafka and Start. The zero value is
// valid: an empty in-memory broker, and a listener with kafka.Options'
// defaults (no automatic topic creation).
type Options struct {
	// Broker are the broker's options. A nil FS means a fresh in-memory
	// filesystem (vfs.NewMem()), not the OS one.
	Broker cairn.Options
	// Kafka are the listener's options (NewKafka and Start only).
	Kafka kafka.Options
	// Dir is the data directory; default "cairn". Set it (to t.TempDir(),
	// say) when Broker.FS is a real filesystem such as vfs.Default.
	Dir string
	// Topics are created before the broker is returned: name to
	// partition count.
	Topics map[string]int
}

// Kafka is a Kafka listener on a random loopback port over an in-memory
// broker.
type Kafka struct {
	// Addr is the listener's host:port, the seed broker for clients.
	Addr   string
	Broker *cairn.Broker
	Server *kafka.Server

	ln        net.Listener
	served    chan error // Serve's result
	closeOnce sync.Once
	closeErr  error
}

// NewBroker returns a broker on an in-memory filesystem that t's cleanup
// closes. At most one Options may be given.
func NewBroker(t testing.TB, opts ...Options) *cairn.Broker {
	t.Helper()
	b, err := open(*one(t, opts))
	if err != nil {
		t.Fatalf("cairntest: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("cairntest: close broker: %v", err)
		}
	})
	return b
}

// NewKafka starts a Kafka listener on 127.0.0.1 at a random port over an
// in-memory broker; t's cleanup closes the listener, then the broker. At
// most one Options may be given.
func NewKafka(t testing.TB, opts ...Options) *Kafka {
	t.Helper()
	k, err := Start(one(t, opts))
	if err != nil {
		t.Fatalf("cairntest: %v", err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("cairntest: %v", err)
		}
	})
	return k
}

// Start is NewKafka for callers without a testing.TB, such as TestMain
// or an Example: the caller must Close the result. opts may be nil.
// Kafka options that fail kafka.Options.Validate are returned as an
// error, with nothing started: Serve would refuse them.
func Start(opts *Options) (*Kafka, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.Kafka.Validate(); err != nil {
		return nil, err // before a listener that Serve would refuse
	}
	b, err := open(o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("listen: %w", err), b.Close())
	}
	k := &Kafka{Addr: ln.Addr().String(), Broker: b, Server: kafka.NewServer(b, &o.Kafka), ln: ln, served: make(chan error, 1)}
	go func() { k.served <- k.Server.Serve(ln) }()
	return k, nil
}

// Close stops the listener, closing every client connection, then closes
// the broker. Later calls return the first call's result.
func (k *Kafka) Close() error {
	k.closeOnce.Do(func() {
		err := k.Server.Close()
		// Serve returns ErrClosed, leaving ln open, when Close came first.
		if serr := <-k.served; serr != nil && !errors.Is(serr, cairn.ErrClosed) {
			err = errors.Join(err, fmt.Errorf("serve: %w", serr))
		}
		k.ln.Close() // already closed unless Serve never took it
		k.closeErr = errors.Join(err, k.Broker.Close())
	})
	return k.closeErr
}

// memTableSize is the in-memory broker's memtable size.
const memTableSize = 4 << 20

// open opens a broker as o says and creates its topics.
func open(o Options) (*cairn.Broker, error) {
	if o.Broker.FS == nil {
		o.Broker.FS = vfs.NewMem()
	}
	if _, ok := o.Broker.FS.(*vfs.MemFS); ok {
		// Pebble keeps up to MemTableStopWritesThreshold+1 used WAL
		// files, each about a memtable, to recycle: with the broker's
		// 64 MB memtables a test that wrote a few hundred MB kept
		// ~250 MB of memory for good, whatever it deleted. Small
		// memtables bound that to a few MB; the caller's hook runs after.
		user := o.Broker.Pebble
		o.Broker.Pebble = func(po *pebble.Options) {
			po.MemTableSize = memTableSize
			po.MemTableStopWritesThreshold = 2
			if user != nil {
				user(po)
			}
		}
	}
	if o.Dir == "" {
		o.Dir = "cairn"
	}
	b, err := cairn.Open(o.Dir, &o.Broker)
	if err != nil {
		return nil, err
	}
	for name, n := range o.Topics {
		if err := b.CreateTopic(context.Background(), name, n, nil); err != nil {
			return nil, errors.Join(fmt.Errorf("create topic %q: %w", name, err), b.Close())
		}
	}
	return b, nil
}

// one returns the only Options in opts, or the zero Options.
func one(t testing.TB, opts []Options) *Options {
	t.Helper()
	switch len(opts) {
	case 0:
		return &Options{}
	case 1:
		return &opts[0]
	}
	t.Fatalf("cairntest: %d Options given, want at most one", len(opts))
	return nil
}
