package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// stdio is a command's standard streams; tests pass buffers.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is a subcommand: its logic takes the arguments after its name.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, io stdio) error
}

var commands = []command{
	{"serve", "run a broker with a Kafka listener", runServe},
	{"topics", "list, create, describe and delete topics", runTopics},
	{"produce", "append lines from stdin to a topic", runProduce},
	{"consume", "print a topic's records", runConsume},
	{"groups", "list, describe, lag, delete and reset consumer groups", runGroups},
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// run runs the command line args (without the program name) and returns
// the exit code. It never calls os.Exit, so tests call it directly.
func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" {
		usage(io.err)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(io, c.name, c.run(ctx, args[1:], io))
		}
	}
	fmt.Fprintf(io.err, "cairn: unknown command %q\n", args[0])
	usage(io.err)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cairn COMMAND [ARGS] [FLAGS]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"cairn COMMAND -h\" for a command's flags.")
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// exitCode reports err on stderr and maps it to an exit code.
func exitCode(io stdio, name string, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(io.err, "cairn %s: %v\n", name, ue.msg)
		if ue.fs != nil {
			ue.fs.SetOutput(io.err)
			ue.fs.Usage()
		}
		return exitUsage
	}
	fmt.Fprintf(io.err, "cairn %s: %v\n", name, err)
	return exitError
}

// usageError is a command line mistake: exit code 2 and the usage.
type usageError struct {
	msg string
	fs  *flag.FlagSet
}

func (e *usageError) Error() string { return e.msg }

func usagef(fs *flag.FlagSet, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), fs: fs}
}

// newFlags returns a flag set for a command with a usage line; it writes
// its errors and help to io.err.
func newFlags(io stdio, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("cairn "+name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cairn %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags anywhere among args, as in "topics create NAME
// --partitions 3", and returns the positional arguments. After "--" every
// argument is positional. A flag error is already printed by fs.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{msg: err.Error()} // fs printed the usage
		}
		rest := fs.Args()
		if terminated(fs, args[:len(args)-len(rest)]) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// terminated reports whether fs.Parse stopped at a "--" that ends the
// flags, used being the arguments it took: a "--" that is a flag's value
// (--key-sep --) is not one.
func terminated(fs *flag.FlagSet, used []string) bool {
	for i := 0; i < len(used); i++ {
		a := used[i]
		if a == "--" {
			return i == len(used)-1
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		i++ // the next argument is this flag's value
	}
	return false
}

// positional checks the count of positional arguments.
func positional(fs *flag.FlagSet, pos []string, names ...string) error {
	if len(pos) != len(names) {
		want := "no arguments"
		if len(names) > 0 {
			want = strings.Join(names, " ")
		}
		return usagef(fs, "want %s, got %q", want, pos)
	}
	return nil
}

// verbFlags refuses the flags in names that were set for any verb but
// verb, as kafka-topics.sh refuses --config with --describe: ignored,
// they let a user believe they took effect.
func verbFlags(fs *flag.FlagSet, got, verb string, names ...string) error {
	if got == verb {
		return nil
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && slices.Contains(names, f.Name) {
			err = usagef(fs, "--%s applies to %s only", f.Name, verb)
		}
	})
	return err
}

// subcommand splits "topics create ..." into the verb and its arguments;
// an empty verb means def.
func subcommand(args []string, def string) (verb string, rest []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return def, args
	}
	return args[0], args[1:]
}
