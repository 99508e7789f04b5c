package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnlog/cairn"
	"github.com/cairnlog/cairn/group"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// backend is what the commands need from a broker: one opened on a data
// directory (local) or a Kafka listener reached with franz-go (remote).
// Every command is written once against it.
type backend interface {
	Topics(ctx context.Context) ([]string, error)
	CreateTopic(ctx context.Context, name string, partitions int, cfg map[string]string) error
	DeleteTopic(ctx context.Context, name string) error
	DescribeTopic(ctx context.Context, name string) (topicInfo, error)
	// Partitions returns a topic's partitions with their offsets.
	Partitions(ctx context.Context, topic string) ([]cairn.PartitionInfo, error)

	// Producer returns a sink of records; manual sends each record to its
	// Partition field, else keys are hashed as Kafka clients do.
	Producer(ctx context.Context, manual bool) (sink, error)
	// Consumer returns a source of a topic's records.
	Consumer(ctx context.Context, opts sourceOptions) (source, error)

	Groups(ctx context.Context) ([]groupListing, error)
	DescribeGroup(ctx context.Context, id string) (groupInfo, error)
	// Committed returns a group's committed offsets for a topic's partitions.
	Committed(ctx context.Context, id, topic string) (map[int32]int64, error)
	Lag(ctx context.Context, id string) ([]group.Lag, error)
	DeleteGroup(ctx context.Context, id string) error
	// ResetOffsets commits new offsets for an empty group and returns them.
	ResetOffsets(ctx context.Context, id, topic string, to offsetSpec) (map[int32]int64, error)

	Close() error
}

// sink appends records, setting their Partition and Offset.
type sink interface {
	// Send appends recs and returns one error per record (nil on success).
	Send(ctx context.Context, recs []*cairn.Record) []error
	Close(ctx context.Context) error
}

// source returns records from a topic.
type source interface {
	// Poll waits for the next records.
	Poll(ctx context.Context) ([]*cairn.Record, error)
	// Commit commits the group's next offsets by partition.
	Commit(ctx context.Context, next map[int32]int64) error
	// Assigned returns the topic's partitions the group gave this
	// member, and whether it has had an assignment yet.
	Assigned() (partitions map[int32]bool, joined bool)
	Close() error
}

type sourceOptions struct {
	Topic string
	Group string
	From  offsetSpec
}

// topicInfo is a topic's description in either mode.
type topicInfo struct {
	Name       string
	ID         string
	Partitions []cairn.PartitionInfo
	Config     []cairn.ConfigEntry
}

type groupListing struct {
	Group, State, ProtocolType string
}

type groupInfo struct {
	Group, State, ProtocolType, Protocol string
	Members                              []memberInfo
}

type memberInfo struct {
	ID, InstanceID, ClientID string
	Assigned                 []group.TopicPartition
}

// connFlags are the flags that pick the backend.
type connFlags struct {
	dir, bootstrap string
}

func addConnFlags(fs *flag.FlagSet) *connFlags {
	c := &connFlags{}
	fs.StringVar(&c.dir, "dir", "./data", "data `directory` to open (without --bootstrap)")
	fs.StringVar(&c.bootstrap, "bootstrap", "", "`host:port` of a running Kafka listener (cairn serve) to use instead of --dir")
	return c
}

// open returns the backend the flags name. create allows a data directory
// that does not exist yet.
func (c *connFlags) open(create bool) (backend, error) {
	if c.bootstrap != "" {
		return newRemote(c.bootstrap)
	}
	if !create {
		// A directory without a store is no data directory either:
		// opening it would write a store into it.
		if d, err := pebble.Peek(c.dir, vfs.Default); err != nil || !d.Exists {
			return nil, fmt.Errorf("no data directory %s (give --dir, or --bootstrap for a running listener)", c.dir)
		}
	}
	return openLocal(c.dir)
}

// missingRoot returns the outermost directory of dir's path that does not
// exist yet, which opening dir creates, or "" if dir exists.
func missingRoot(dir string) string {
	root := ""
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		// Lstat: a symlink is there even if its target is not, and
		// is not ours to remove.
		if _, err := os.Lstat(d); !errors.Is(err, os.ErrNotExist) {
			return root
		}
		root = d
		if filepath.Dir(d) == d {
			return root
		}
	}
}

// removeCreated removes what missingRoot returned, if anything.
func removeCreated(root string) error {
	if root == "" {
		return nil
	}
	return os.RemoveAll(root)
}

// ours returns created if the store opened on it holds no topic: a failed
// command made none, so topics there are another process's, which made
// the directory between missingRoot and the open (and let it go).
//
// Of the directories made above dir, only those that hold nothing but the
// way down to dir are ours: another process may have made something beside
// it (a `cairn serve --dir` of a sibling) since.
func ours(created, dir string, topics func(context.Context) ([]string, error)) string {
	if created == "" {
		return ""
	}
	if ts, err := topics(context.Background()); err != nil || len(ts) > 0 {
		return ""
	}
	keep := filepath.Clean(dir)
	for keep != created {
		parent := filepath.Dir(keep)
		if parent == keep {
			break
		}
		ents, err := os.ReadDir(parent)
		if err != nil || len(ents) != 1 || ents[0].Name() != filepath.Base(keep) {
			return keep
		}
		keep = parent
	}
	return keep
}

// beforeOpen, if set (by tests), runs between missingRoot and the open,
// where another process may make the directory.
var beforeOpen func(dir string)

// errInUse explains a locked data directory.
func errInUse(dir string) error {
	return fmt.Errorf("%w: %s; is `cairn serve` running? use --bootstrap", cairn.ErrLocked, dir)
}
