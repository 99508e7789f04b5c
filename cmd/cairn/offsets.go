package main

import (
	"fmt"
	"strconv"
)

// offsetSpec is an offset given on the command line: earliest, latest or
// an exact offset.
type offsetSpec struct {
	kind   offsetKind
	offset int64
}

type offsetKind int8

const (
	earliest offsetKind = iota
	latest
	exact
)

// parseOffset parses "earliest", "latest" or a non-negative offset.
func parseOffset(s string) (offsetSpec, error) {
	switch s {
	case "earliest", "beginning", "oldest":
		return offsetSpec{kind: earliest}, nil
	case "latest", "end", "newest":
		return offsetSpec{kind: latest}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return offsetSpec{}, fmt.Errorf("offset %q: want earliest, latest or a non-negative number", s)
	}
	return offsetSpec{kind: exact, offset: n}, nil
}

func (o offsetSpec) String() string {
	switch o.kind {
	case earliest:
		return "earliest"
	case latest:
		return "latest"
	}
	return strconv.FormatInt(o.offset, 10)
}

// resolve returns the offset o names in a partition, clamped to the log.
func (o offsetSpec) resolve(logStart, hwm int64) int64 {
	switch o.kind {
	case earliest:
		return logStart
	case latest:
		return hwm
	}
	return min(max(o.offset, logStart), hwm)
}

// offsetFlag is a flag.Value for an offsetSpec.
type offsetFlag struct{ spec *offsetSpec }

func (f offsetFlag) String() string {
	if f.spec == nil {
		return ""
	}
	return f.spec.String()
}

func (f offsetFlag) Set(s string) error {
	o, err := parseOffset(s)
	if err != nil {
		return err
	}
	*f.spec = o
	return nil
}
