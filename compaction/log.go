package compaction

import (
	"context"
	"time"

	"github.com/cairnlog/cairn/log"
)

// Log is what the cleaner needs from a partition. *partition.Partition
// implements it.
type Log interface {
	// LogStart is the first readable offset.
	LogStart() int64
	// TailStart is the base offset of the newest batch, never cleaned.
	TailStart() int64
	// CleanedTo is the cleaner checkpoint: offsets below were cleaned.
	CleanedTo() int64
	// CleanedBefore is an offset below which every record was first
	// cleaned at or before t (ApplyClean records when, from Rewrite.At).
	CleanedBefore(t time.Time) int64
	// BaseAtTime is the base offset of the first batch whose max
	// timestamp is at or after t: every batch below is older than t.
	BaseAtTime(t time.Time) (int64, error)
	// SizeBetween is the size of the batches whose last offset is in
	// [from, to).
	SizeBetween(from, to int64) (int64, error)
	// Batches returns stored batches whose last offset is in [from, to),
	// up to maxBytes (at least one).
	Batches(from, to int64, maxBytes int) ([]log.Batch, error)
	// ApplyClean applies one rewrite step atomically.
	ApplyClean(ctx context.Context, rw *log.Rewrite) error
}

// Retainer is what retention needs from a partition.
// *partition.Partition implements it.
type Retainer interface {
	LogStart() int64
	BaseAtTime(t time.Time) (int64, error)
	// RetentionCut is the offset to delete before so that at most limit
	// bytes stay, dropping whole batches only.
	RetentionCut(limit int64) (int64, error)
	// DeleteRecords moves the log start to before with one range deletion.
	DeleteRecords(ctx context.Context, before int64) error
}
