package consumer

import "fmt"

// FetchError is a partition's error in a Poll: the partition stays
// assigned, and the other partitions' records are still returned.
type FetchError struct {
	Topic     string
	Partition int32
	Err       error
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("cairn: fetch %s/%d: %v", e.Topic, e.Partition, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }
