package partition

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/log"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

type silent struct{}

func (silent) Infof(string, ...any)  {}
func (silent) Errorf(string, ...any) {}
func (silent) Fatalf(f string, a ...any) {
	panic("fatal: " + f)
}

// failFS makes WAL syncs block on release and then fail once armed.
type failFS struct {
	vfs.FS
	armed   atomic.Bool
	release chan struct{}
}

type failFile struct {
	vfs.File
	fs *failFS
}

func (fs *failFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return failFile{f, fs}, nil
}

func (fs *failFS) ReuseForWrite(old, new string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(old, new, c)
	if err != nil || !strings.HasSuffix(new, ".log") {
		return f, err
	}
	return failFile{f, fs}, nil
}

func (f failFile) Sync() error {
	if f.fs.armed.Load() {
		<-f.fs.release
		return errors.New("injected fsync failure")
	}
	return f.File.Sync()
}
func (f failFile) SyncData() error { return f.Sync() }

// A retry of an idempotent batch whose original is still syncing waits in
// waitPublished; when the original's fsync fails, the retry returns that
// failure. (Nothing woke it: it waited for good, and held the partition,
// so Close and DeleteTopic waited too.)
func TestRetryOfFailedSyncReturns(t *testing.T) {
	fs := &failFS{FS: vfs.NewMem(), release: make(chan struct{})}
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: silent{}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() }) // it may report the failed fsync
	p, err := Open(Options{DB: db, Topic: "t", TopicID: 1, Sync: true, Config: Config{MaxMessageBytes: 1 << 20}})
	require.NoError(t, err)

	b, err := log.Build(recs(2, "a"), log.None, &log.Producer{ID: 7, Epoch: 0, Sequence: 0}, time.Now())
	require.NoError(t, err)
	raw := b.Bytes()

	fs.armed.Store(true)
	_, waitA, err := p.AppendBatchAsync(ctx, raw)
	require.NoError(t, err)
	_, waitB, err := p.AppendBatchAsync(ctx, raw) // the retry
	require.NoError(t, err)
	errA := make(chan error, 1)
	errB := make(chan error, 1)
	go func() { errA <- waitA() }()
	go func() { errB <- waitB() }()
	time.Sleep(100 * time.Millisecond) // the retry sleeps in waitPublished
	close(fs.release)
	t.Logf("original: %v", <-errA)
	select {
	case err := <-errB:
		t.Logf("retry: %v", err)
	case <-time.After(2 * time.Second):
		closed := make(chan struct{})
		go func() { p.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(500 * time.Millisecond):
			t.Log("Close blocked too (the retry holds the partition open)")
		}
		p.broadcast() // unstick it so the test can end
		t.Logf("after a manual broadcast the retry returns: %v", <-errB)
		<-closed
		t.Fatal("the retry's wait hung after the original's fsync failed")
	}
	p.Close()
}
