package producer

// Result is one record's outcome: on success Record has its Partition and
// Offset set.
type Result struct {
	Record *Record
	Err    error
}

// Results are the outcomes of ProduceSync, in the order of its records.
type Results []Result

// FirstErr returns the first error, or nil if every record was appended.
func (rs Results) FirstErr() error {
	for _, r := range rs {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// Records returns the records, in order.
func (rs Results) Records() []*Record {
	out := make([]*Record, len(rs))
	for i, r := range rs {
		out[i] = r.Record
	}
	return out
}
