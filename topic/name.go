package topic

import (
	"fmt"
	"iter"
	"strings"
)

// MaxNameLen is Kafka's limit on topic names.
const MaxNameLen = 249

// ValidateName applies Kafka's topic naming rules: 1 to 249 characters from
// [a-zA-Z0-9._-], and not "." or "..".
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidTopic)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %d characters, at most %d", ErrInvalidTopic, len(name), MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrInvalidTopic, name)
	}
	for _, c := range []byte(name) {
		if !legal(c) {
			return fmt.Errorf("%w: %q has %q; use [a-zA-Z0-9._-]", ErrInvalidTopic, name, c)
		}
	}
	return nil
}

func legal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// CheckNew returns the error Create gives for a new topic name among the
// existing ones: ErrTopicExists, or ErrInvalidTopic for a name that
// differs from one of them only by '.' against '_'.
func CheckNew(name string, existing iter.Seq[string]) error {
	for other := range existing {
		if other == name {
			return fmt.Errorf("%w: %q", ErrTopicExists, name)
		}
		if collisionName(other) == collisionName(name) {
			return fmt.Errorf("%w: %q collides with existing topic %q ('.' and '_' are the same in Kafka metric names)",
				ErrInvalidTopic, name, other)
		}
	}
	return nil
}

// collisionName maps a name to the form Kafka uses to refuse topics that
// differ only by '.' versus '_' (they share metric names).
func collisionName(name string) string { return strings.ReplaceAll(name, ".", "_") }
