package eventstore

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Position is an event's place in the global log.
//
// It is a pair ordered lexicographically: first by Commit, then by Prepare.
// EventStoreDB's $all position is exactly such a pair (commit and prepare
// positions); the PostgreSQL store uses (transaction id, sequence number); the
// memory store uses {n, n} for the n-th event. Positions are only comparable
// within one store.
//
// The zero Position is the start of the log: it lies before every event, so
// reading or subscribing "from" it delivers the whole log.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// Start is the position before the first event of any log.
var Start = Position{}

// Compare returns -1 if p sorts before q, 0 if they are equal and +1 if p sorts
// after q.
func (p Position) Compare(q Position) int {
	if c := cmp.Compare(p.Commit, q.Commit); c != 0 {
		return c
	}
	return cmp.Compare(p.Prepare, q.Prepare)
}

// Before reports whether p sorts strictly before q.
func (p Position) Before(q Position) bool { return p.Compare(q) < 0 }

// After reports whether p sorts strictly after q.
func (p Position) After(q Position) bool { return p.Compare(q) > 0 }

// IsZero reports whether p is the start of the log.
func (p Position) IsZero() bool { return p == Position{} }

// String formats p as "commit/prepare", the form [ParsePosition] reads.
func (p Position) String() string {
	return strconv.FormatUint(p.Commit, 10) + "/" + strconv.FormatUint(p.Prepare, 10)
}

// ParsePosition reads a position written by [Position.String].
func ParsePosition(s string) (Position, error) {
	c, pr, ok := strings.Cut(s, "/")
	if !ok {
		return Position{}, fmt.Errorf("eventstore: position %q: want commit/prepare", s)
	}
	commit, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("eventstore: position %q: commit: %w", s, err)
	}
	prepare, err := strconv.ParseUint(pr, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("eventstore: position %q: prepare: %w", s, err)
	}
	return Position{Commit: commit, Prepare: prepare}, nil
}
