package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnlog/cairn/group"
	"github.com/cairnlog/cairn/partition"
	"github.com/cairnlog/cairn/topic"
)

// Offset is a start position: Earliest, Latest, At(n) or AtTime(t).
type Offset struct {
	kind int8 // 0 earliest, 1 latest, 2 exact, 3 time
	at   int64
	t    time.Time
}

// Earliest is the log start offset.
func Earliest() Offset { return Offset{kind: 0} }

// Latest is the high watermark: only records appended from now on.
func Latest() Offset { return Offset{kind: 1} }

// At is an exact offset. An offset outside the log is handled by
// Options.OnOutOfRange.
func At(offset int64) Offset { return Offset{kind: 2, at: offset} }

// AtTime is the first offset whose record timestamp is at or after t (or
// the high watermark if none is), found through the partition's time index.
func AtTime(t time.Time) Offset { return Offset{kind: 3, t: t} }

func (o Offset) String() string {
	switch o.kind {
	case 0:
		return "earliest"
	case 1:
		return "latest"
	case 2:
		return fmt.Sprintf("offset %d", o.at)
	}
	return "time " + o.t.Format(time.RFC3339Nano)
}

// Reset says what to do when a position falls outside the log, for example
// below the log start after retention deleted records.
type Reset int8

const (
	// ResetEarliest moves to the log start offset (the default).
	ResetEarliest Reset = iota
	// ResetLatest moves to the high watermark.
	ResetLatest
	// ResetError leaves the position and reports ErrOffsetOutOfRange for
	// the partition in every Poll until the user seeks.
	ResetError
)

// Options configure a Consumer. Set Topics, Partitions, or both: New
// refuses a consumer with neither (ErrInvalidArgument).
type Options struct {
	// Topics are consumed whole: every partition, including partitions
	// and topics created later (checked every MetadataInterval).
	Topics []string
	// Partitions are consumed as assigned, by topic.
	Partitions map[string][]int32
	// Start is where partitions without a position begin; default
	// Earliest, as franz-go (Kafka's Java client defaults to latest).
	Start Offset
	// OnOutOfRange is the reset policy for positions outside the log.
	OnOutOfRange Reset
	// MaxPollRecords caps the records one Poll returns; default 500.
	MaxPollRecords int
	// MaxPartitionBytes caps what one Poll reads from a partition (but at
	// least one batch is read); default 1 MiB.
	MaxPartitionBytes int
	// MetadataInterval is how often subscribed topics are checked for new
	// partitions while Poll waits, and how often an assigned partition
	// that does not exist is looked at again (its error is returned
	// once, not at every Poll); default 500ms.
	MetadataInterval time.Duration

	// Group makes the consumer a member of a consumer group sharing the
	// partitions of Topics with the group's other members (in this process
	// or, through the Kafka listener, elsewhere). Partitions must be empty.
	// Positions start at the group's committed offsets, else at Start.
	Group string
	// InstanceID makes the member static: closing does not leave the
	// group, nor does a consumer that stops polling, and a restart (or
	// the next Poll) within SessionTimeout gets the same partitions back
	// without a rebalance, unless its topics changed. Two
	// consumers with one InstanceID are a misconfiguration: the older is
	// fenced, and its Polls fail with group.ErrFencedInstanceID from then
	// on, as in Kafka; close it.
	InstanceID string
	// Assignors in order of preference; default cooperative-sticky, then
	// range (the first is used to decide eager or cooperative rebalancing
	// until the group has chosen).
	Assignors []group.Assignor
	// SessionTimeout: a member not heard from for this long is removed;
	// default 45s. HeartbeatInterval: how often the consumer's heartbeat
	// goroutine reports; default 3s (and at most SessionTimeout/3).
	SessionTimeout, HeartbeatInterval time.Duration
	// RebalanceTimeout: members must rejoin (by polling) within it during a
	// rebalance, and a consumer that does not poll for longer leaves the
	// group (a static member stays until its session expires), as Kafka's
	// max.poll.interval.ms; default 5 minutes.
	RebalanceTimeout time.Duration
	// DisableAutoCommit turns off committing positions automatically.
	// With auto-commit, Poll commits every AutoCommitInterval (default 5s)
	// the positions reached by earlier polls, that is records the user had
	// and processed before calling Poll again; never records it has not
	// yet returned. Positions are also committed before partitions are
	// revoked and on Close.
	DisableAutoCommit  bool
	AutoCommitInterval time.Duration
	// OnAssigned runs in Poll after partitions are assigned (positions are
	// set; Seek may move them). OnRevoked runs in Poll before partitions
	// move to another member, after the auto-commit, so the user can
	// commit. OnLost runs when the group took this member's partitions
	// away (session or rebalance timeout, or fenced as a static member),
	// in the next Poll or in Close: committing is no longer possible; it
	// defaults to OnRevoked. None of them may call Close (see Close).
	OnAssigned, OnRevoked, OnLost func(ctx context.Context, c *Consumer, partitions []TopicPartition)
}

func (o *Options) autoCommit() bool { return !o.DisableAutoCommit }

// EnsureDefaults fills unset fields and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o == nil {
		o = &Options{}
	}
	if o.MaxPollRecords == 0 {
		o.MaxPollRecords = 500
	}
	if o.MaxPartitionBytes == 0 {
		o.MaxPartitionBytes = 1 << 20
	}
	if o.MetadataInterval == 0 {
		o.MetadataInterval = 500 * time.Millisecond
	}
	if o.Group != "" {
		o.ensureGroupDefaults()
	}
	return o
}

func (o *Options) ensureGroupDefaults() {
	if len(o.Assignors) == 0 {
		o.Assignors = []group.Assignor{group.CooperativeSticky(), group.Range()}
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 45 * time.Second
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = min(3*time.Second, o.SessionTimeout/3)
	}
	if o.RebalanceTimeout == 0 {
		o.RebalanceTimeout = 5 * time.Minute
	}
	if o.AutoCommitInterval == 0 {
		o.AutoCommitInterval = 5 * time.Second
	}
}

// Validate reports options that cannot work, wrapping ErrInvalidArgument.
func (o *Options) Validate() error {
	if o == nil {
		o = &Options{} // the defaults, which name nothing to consume
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: consumer: %s", partition.ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	switch {
	case o.MaxPollRecords < 0 || o.MaxPartitionBytes < 0 || o.MetadataInterval < 0:
		return bad("negative limit")
	case o.OnOutOfRange < ResetEarliest || o.OnOutOfRange > ResetError:
		return bad("unknown reset policy %d", o.OnOutOfRange)
	case o.Start.kind == 2 && o.Start.at < 0:
		return bad("negative start offset %d", o.Start.at)
	case len(o.Topics) == 0 && len(o.Partitions) == 0:
		// Nothing to read, and no way to add something later: Poll
		// waited for ever. Kafka's poll throws for a consumer neither
		// subscribed nor assigned.
		return bad("neither Topics nor Partitions: nothing to consume")
	}
	if o.Group != "" {
		switch {
		case len(o.Partitions) > 0:
			return bad("a group consumer gets its partitions from the group; Partitions must be empty")
		case len(o.Topics) == 0:
			return bad("a group consumer needs Topics")
		case o.SessionTimeout < 0 || o.HeartbeatInterval <= 0 || o.RebalanceTimeout < 0 || o.AutoCommitInterval < 0:
			return bad("negative group timeout")
		case o.HeartbeatInterval >= o.SessionTimeout:
			// The session would expire between heartbeats (Kafka
			// requires heartbeat.interval.ms below session.timeout.ms).
			return bad("heartbeat interval %v not below the session timeout %v", o.HeartbeatInterval, o.SessionTimeout)
		}
		for _, a := range o.Assignors {
			if a == nil {
				return bad("nil assignor")
			}
		}
	}
	// A name no topic can have (empty, too long, a '/') was waited for
	// by a subscription, for good, and failed every Poll of an
	// assignment.
	for _, t := range o.Topics {
		if err := topic.ValidateName(t); err != nil {
			return fmt.Errorf("%w: consumer: %w", partition.ErrInvalidArgument, err)
		}
	}
	for t, parts := range o.Partitions {
		if err := topic.ValidateName(t); err != nil {
			return fmt.Errorf("%w: consumer: %w", partition.ErrInvalidArgument, err)
		}
		for _, p := range parts {
			if p < 0 {
				return bad("negative partition %d of %q", p, t)
			}
		}
	}
	return nil
}
