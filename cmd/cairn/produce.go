package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/cairnlog/cairn"
)

// maxLine bounds one input line, that is one record.
const maxLine = 16 << 20

// maxSend is the most lines sent as one ProduceSync.
const maxSend = 1000

const produceSynopsis = `TOPIC [--partition P] [--key-sep SEP] [--dir DIR | --bootstrap HOST:PORT] < lines

Each line is a record; the partition and offset of each appended record is
printed (only the count with --quiet). Lines that arrive together are sent
together: one that fails does not stop the others, so lines after it may be
appended. Those are printed too, then the first failure (by line number),
and the command exits 1.`

type produceFlags struct {
	partition int
	keySep    string
	quiet     bool
}

// runProduce is `cairn produce TOPIC`: each stdin line becomes a record.
// Lines read while the previous ones are being appended go together, so
// piped input is batched and typed input is sent line by line.
func runProduce(ctx context.Context, args []string, io stdio) error {
	fs := newFlags(io, "produce", produceSynopsis)
	conn := addConnFlags(fs)
	var f produceFlags
	fs.IntVar(&f.partition, "partition", -1, "append to `partition` P (default: by key hash; keyless records fill one partition's batch, then move on, as Kafka's sticky partitioner)")
	fs.StringVar(&f.keySep, "key-sep", "", "split each line at the first `SEP` into key and value (a line without it has no key)")
	fs.BoolVar(&f.quiet, "quiet", false, "print only the count, not each record's partition and offset")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := positional(fs, pos, "TOPIC"); err != nil {
		return err
	}
	if f.partition < -1 || f.partition > math.MaxInt32 {
		return usagef(fs, "--partition %d: a partition number from 0 (or -1, the default: by key)", f.partition)
	}
	return withBackend(conn, false, func(be backend) error {
		return produce(ctx, io, be, pos[0], f)
	})
}

func produce(ctx context.Context, io stdio, be backend, topic string, f produceFlags) error {
	s, err := be.Producer(ctx, f.partition >= 0)
	if err != nil {
		return err
	}
	n, err := sendLines(ctx, io, s, topic, f)
	// Every record was sent synchronously; Close only stops the producer.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), retryTimeout)
	defer cancel()
	if cerr := s.Close(cctx); err == nil {
		err = cerr
	}
	fmt.Fprintf(io.err, "produced %d records to %s\n", n, topic)
	return err
}

// sendLines sends stdin's lines in batches and returns how many succeeded.
func sendLines(ctx context.Context, io stdio, s sink, topic string, f produceFlags) (int, error) {
	done := make(chan struct{})
	defer close(done)
	lines, readErr := readLines(io.in, done)
	n, sent := 0, 0
	for batch := range batches(ctx, lines) {
		recs := make([]*cairn.Record, len(batch))
		for i, l := range batch {
			recs[i] = toRecord(topic, l, f)
		}
		// A failed record does not stop the others of its batch: report
		// every one appended, then the first failure.
		// A batch read is sent whole, even if Ctrl-C comes meanwhile (the
		// next batch is not read): cut, its records could be appended and
		// reported failed, as kcat flushes what it read on SIGINT.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), retryTimeout)
		errs := s.Send(sctx, recs)
		cancel()
		var failed error
		for i, err := range errs {
			if err != nil {
				if failed == nil {
					failed = fmt.Errorf("record %d: %w", sent+i+1, err)
				}
				continue
			}
			if !f.quiet {
				fmt.Fprintf(io.out, "partition %d offset %d\n", recs[i].Partition, recs[i].Offset)
			}
			n++
		}
		sent += len(batch)
		if failed != nil {
			return n, failed
		}
	}
	if ctx.Err() != nil {
		return n, nil // interrupted: the input ends here
	}
	return n, <-readErr
}

// readLines sends in's lines on the returned channel until EOF or done,
// then closes it and sends the read error.
func readLines(in io.Reader, done <-chan struct{}) (<-chan string, <-chan error) {
	lines, errc := make(chan string, maxSend), make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text(): // without its "\n" or "\r\n"
			case <-done:
				errc <- nil
				return
			}
		}
		errc <- sc.Err()
	}()
	return lines, errc
}

// batches yields what lines has ready: at least one line, at most
// maxSend. It ends at the end of lines or when ctx is done (Ctrl-C ends
// typed input).
func batches(ctx context.Context, lines <-chan string) func(yield func([]string) bool) {
	return func(yield func([]string) bool) {
		for {
			var l string
			var ok bool
			select {
			case l, ok = <-lines:
			case <-ctx.Done():
			}
			if !ok {
				return
			}
			batch := []string{l}
		more:
			for len(batch) < maxSend {
				select {
				case l, ok := <-lines:
					if !ok {
						break more
					}
					batch = append(batch, l)
				default:
					break more
				}
			}
			if !yield(batch) {
				return
			}
		}
	}
}

func toRecord(topic, line string, f produceFlags) *cairn.Record {
	r := &cairn.Record{Topic: topic, Value: []byte(line)}
	if f.partition >= 0 {
		r.Partition = int32(f.partition)
	}
	if f.keySep != "" {
		if k, v, ok := strings.Cut(line, f.keySep); ok {
			r.Key, r.Value = []byte(k), []byte(v)
		}
	}
	return r
}
