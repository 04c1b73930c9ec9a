package eventstore

import (
	"context"
	"iter"
	"slices"
	"strings"
)

// Store is the event store contract every backend implements and every other
// chronicle package builds on.
//
// Implementations must be safe for concurrent use and guarantee:
//
//   - Append is atomic: all of its events are stored, or none. It checks the
//     expected version against the stream's current version and refuses a
//     mismatch with a [*ConflictError]. Stream versions are 1-based and
//     contiguous.
//   - Idempotent appends: an append whose event IDs are all already stored,
//     in the same order, right after the expected version (for [Any], anywhere
//     in the stream as one contiguous run; for [StreamExists], anywhere after
//     version 0), succeeds with the original [AppendResult] and writes
//     nothing. An event ID stored anywhere else is a [*ConflictError] with
//     EventID set, never a silent duplicate.
//   - Bad input is refused before anything is written, with the typed errors
//     of [Limits.CheckAppend].
//   - The global log has one total order, given by [Position]. ReadAll and
//     Subscribe deliver events in that order, never skip an event that
//     commits later behind an already delivered one, and keep each stream's
//     versions ascending.
//   - Every call honours its context: a cancelled context stops it with the
//     context's error.
//   - Append reports its true outcome. An error means nothing was stored —
//     a context error too — except an [*OutcomeUnknownError]: the append
//     reached the backend and the store could not find out whether it was
//     stored; retry it with the same event IDs. An append cut short after
//     it reached the backend is never reported as a plain cancellation.
//
// Reads are Go iterators: range over them, and stop at the first non-nil
// error, which ends the sequence. Breaking out of the loop releases whatever
// the read holds.
type Store interface {
	// Append adds events to the end of stream if its current version
	// satisfies expected. Events with a zero ID get a new UUID v7.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events ...Event) (AppendResult, error)

	// ReadStream yields one stream's events in version order (or reverse).
	// A stream without events yields a single [*StreamNotFoundError].
	ReadStream(ctx context.Context, stream string, opts ReadStreamOptions) iter.Seq2[RecordedEvent, error]

	// ReadAll yields the global log after opts.From (or, backwards, before
	// it), up to opts.Limit events, and ends at the log's current head. The
	// head may lag behind appends that have returned (PostgreSQL shows only
	// what no running transaction can still precede); ReadStream does not.
	ReadAll(ctx context.Context, opts ReadAllOptions) iter.Seq2[RecordedEvent, error]

	// Subscribe yields the global log after opts.From that passes
	// opts.Filter: first what is stored (catch-up), then each event as it is
	// appended (live), until ctx is cancelled or the caller stops ranging.
	// No event is skipped, doubled or delivered out of order, also across
	// the switch from catch-up to live. Resume after a restart by passing
	// the last position handled as From.
	Subscribe(ctx context.Context, opts SubscribeOptions) iter.Seq2[RecordedEvent, error]
}

// AppendResult is what an append returns.
type AppendResult struct {
	// Version is the stream's version after the append: the version of its
	// last event.
	Version uint64
	// Positions holds each appended event's global position, in order.
	Positions []Position
}

// Direction is the order of a read.
type Direction uint8

const (
	// Forwards reads from older to newer events.
	Forwards Direction = iota
	// Backwards reads from newer to older events.
	Backwards
)

func (d Direction) String() string {
	if d == Backwards {
		return "backwards"
	}
	return "forwards"
}

// ReadStreamOptions shapes a ReadStream call. The zero value reads the whole
// stream forwards.
type ReadStreamOptions struct {
	Direction Direction
	// From is the first version to read, inclusive. Forwards, 0 means from
	// the first event. Backwards, 0 means from the last event.
	From uint64
	// Limit is the most events to read; 0 means no limit.
	Limit int
}

// ReadAllOptions shapes a ReadAll call. The zero value reads the whole log
// forwards.
type ReadAllOptions struct {
	Direction Direction
	// From is exclusive: forwards, events after From; backwards, events
	// before From, where the zero Position means from the head.
	From Position
	// Limit is the most events to read; 0 means no limit.
	Limit int
}

// SubscribeOptions shapes a Subscribe call. The zero value follows the whole
// log from its start.
type SubscribeOptions struct {
	// From is exclusive: the subscription delivers events after it. Pass the
	// position of the last event handled to resume.
	From Position
	// Filter selects events; the zero Filter passes all.
	Filter Filter
}

// Filter selects events by stream ID prefix and by event type. An empty list
// passes everything; otherwise an event passes when its stream starts with
// one of StreamPrefixes and its type is one of EventTypes.
type Filter struct {
	StreamPrefixes []string
	EventTypes     []string
}

// IsZero reports whether f passes every event.
func (f Filter) IsZero() bool { return len(f.StreamPrefixes) == 0 && len(f.EventTypes) == 0 }

// Match reports whether an event of type eventType in stream passes f.
func (f Filter) Match(stream, eventType string) bool {
	if len(f.EventTypes) > 0 && !slices.Contains(f.EventTypes, eventType) {
		return false
	}
	if len(f.StreamPrefixes) == 0 {
		return true
	}
	for _, p := range f.StreamPrefixes {
		if strings.HasPrefix(stream, p) {
			return true
		}
	}
	return false
}
