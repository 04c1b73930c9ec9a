package eventstore

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Sentinel errors. Check them with [errors.Is]; the typed errors below carry
// the details and unwrap to these.
var (
	// ErrConcurrencyConflict: the stream's version did not match the
	// expected version, or an event ID is already stored elsewhere.
	// See [ConflictError].
	ErrConcurrencyConflict = errors.New("eventstore: concurrency conflict")
	// ErrStreamNotFound: the stream has no events.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrEmptyAppend: an append carried no events.
	ErrEmptyAppend = errors.New("eventstore: append has no events")
	// ErrInvalidStreamID: a stream ID is empty, too long, not UTF-8 or holds
	// control characters.
	ErrInvalidStreamID = errors.New("eventstore: invalid stream ID")
	// ErrInvalidEvent: an event's type is empty or malformed, or its payload
	// is not JSON.
	ErrInvalidEvent = errors.New("eventstore: invalid event")
	// ErrEventTooLarge: an event (payload and metadata) or an append is over
	// the store's limit.
	ErrEventTooLarge = errors.New("eventstore: event too large")
	// ErrDuplicateEventID: one append carries the same event ID twice, or (as
	// a [ConflictError]) an event ID is already stored somewhere else.
	ErrDuplicateEventID = errors.New("eventstore: duplicate event ID")
	// ErrUnknownEventType: the registry has no Go type for an event type.
	ErrUnknownEventType = errors.New("eventstore: unknown event type")
	// ErrDecode: an event's payload does not decode into its Go type.
	ErrDecode = errors.New("eventstore: cannot decode event")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("eventstore: store closed")
	// ErrInvalidArgument: a call's argument is unusable: a nil expected
	// version, a negative read limit. See [ArgumentError].
	ErrInvalidArgument = errors.New("eventstore: invalid argument")
	// ErrUnreadableEvent: a stored event cannot be read back (the backend
	// fails on that one event). See [UnreadableEventError].
	ErrUnreadableEvent = errors.New("eventstore: unreadable event")
	// ErrOutcomeUnknown: an append reached the backend, but the store could
	// not find out whether it was stored. See [OutcomeUnknownError].
	ErrOutcomeUnknown = errors.New("eventstore: append outcome unknown")
)

// OutcomeUnknownError reports an append that may or may not have been
// stored: it reached the backend, then the call's context ended or the
// connection failed before the answer came, and the store could not settle
// the outcome in a bounded time (the backend unreachable, say). A store
// never reports such an append as a plain cancellation: a context error
// from Append means nothing was stored.
//
// Retry with the same event IDs, which EventIDs holds (those the store
// assigned to events without one included): an append of stored IDs right
// after the same expected version is an idempotent retry and returns the
// original result, so the retry stores the events exactly once whatever
// happened. Sending the events again without these IDs may store them
// twice.
//
// It unwraps to [ErrOutcomeUnknown] only, not to the context's error or the
// connection's: errors.Is(err, context.Canceled) is false, so code that
// takes a cancellation for "nothing written" does not misread it. Err holds
// the cause. [IsRetryable] reports false: only a retry with EventIDs is
// safe.
type OutcomeUnknownError struct {
	Stream   string
	Expected ExpectedVersion
	// EventIDs are the append's event IDs, in order.
	EventIDs []uuid.UUID
	// Err is what cut the append short, and why its outcome could not be
	// settled.
	Err error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("eventstore: append of %d events to stream %q (expected %v): outcome unknown, retry with the same event IDs: %v",
		len(e.EventIDs), e.Stream, e.Expected, e.Err)
}

// Unwrap returns [ErrOutcomeUnknown].
func (e *OutcomeUnknownError) Unwrap() error { return ErrOutcomeUnknown }

// IsOutcomeUnknown reports whether err says that an append may or may not
// have been stored (an [*OutcomeUnknownError]): retry it with the same
// event IDs, never without them.
func IsOutcomeUnknown(err error) bool { return errors.Is(err, ErrOutcomeUnknown) }

// ArgumentError reports a call refused for an unusable argument before
// anything was read or written. It unwraps to [ErrInvalidArgument].
type ArgumentError struct {
	// Op is the call: "append", "read stream", "read all".
	Op string
	// Stream is the stream the call named, if any.
	Stream string
	// Reason says what is wrong.
	Reason string
}

func (e *ArgumentError) Error() string {
	if e.Stream != "" {
		return fmt.Sprintf("eventstore: %s %q: invalid argument: %s", e.Op, e.Stream, e.Reason)
	}
	return fmt.Sprintf("eventstore: %s: invalid argument: %s", e.Op, e.Reason)
}

// Unwrap returns [ErrInvalidArgument].
func (e *ArgumentError) Unwrap() error { return ErrInvalidArgument }

// CheckExpected returns an [*ArgumentError] if expected is nil, for stores
// to call before an append.
func CheckExpected(stream string, expected ExpectedVersion) error {
	if expected == nil {
		return &ArgumentError{Op: "append", Stream: stream, Reason: "nil expected version (use eventstore.Any, NoStream, StreamExists or Exact(n))"}
	}
	return nil
}

// CheckLimit returns an [*ArgumentError] if a read's limit is negative, for
// stores to call before a read; op names the read ("read stream", "read
// all").
func CheckLimit(op, stream string, limit int) error {
	if limit < 0 {
		return &ArgumentError{Op: op, Stream: stream, Reason: fmt.Sprintf("negative limit %d (0 means no limit)", limit)}
	}
	return nil
}

// ConflictError reports an append that did not meet its expected version, or
// that carried an event ID already stored elsewhere (then EventID is set and
// the error also matches [ErrDuplicateEventID]). It unwraps to
// [ErrConcurrencyConflict].
type ConflictError struct {
	Stream   string
	Expected ExpectedVersion
	// Actual is the stream's version when the append was refused (0 if the
	// stream does not exist).
	Actual uint64
	// EventID is set when the conflict is an event ID already stored in
	// another place than right after the expected version.
	EventID uuid.UUID
	// Retry is set when the conflict is transient rather than a version
	// mismatch (the PostgreSQL order guard inside a caller's transaction):
	// running the same append again in a new transaction can succeed.
	Retry bool
	// Reason says more, when there is more to say.
	Reason string
}

func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("eventstore: concurrency conflict on stream %q: expected %v, actual version %d", e.Stream, e.Expected, e.Actual)
	if e.EventID != uuid.Nil {
		msg += fmt.Sprintf(", event %s already stored", e.EventID)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap returns [ErrConcurrencyConflict].
func (e *ConflictError) Unwrap() error { return ErrConcurrencyConflict }

// Is matches [ErrDuplicateEventID] when the conflict is about an event ID.
func (e *ConflictError) Is(target error) bool {
	return target == ErrDuplicateEventID && e.EventID != uuid.Nil
}

// StreamNotFoundError reports a read of a stream that has no events. It
// unwraps to [ErrStreamNotFound].
type StreamNotFoundError struct {
	Stream string
}

func (e *StreamNotFoundError) Error() string {
	return fmt.Sprintf("eventstore: stream %q not found", e.Stream)
}

// Unwrap returns [ErrStreamNotFound].
func (e *StreamNotFoundError) Unwrap() error { return ErrStreamNotFound }

// InvalidAppendError reports an append refused before anything was written:
// an empty append, a bad stream ID, a malformed or oversized event, a
// duplicate event ID within the append. It unwraps to one of the sentinels
// [ErrEmptyAppend], [ErrInvalidStreamID], [ErrInvalidEvent],
// [ErrEventTooLarge], [ErrDuplicateEventID].
type InvalidAppendError struct {
	Stream string
	// Index is the offending event's index in the append, or -1.
	Index int
	// Err is the sentinel.
	Err error
	// Reason says what exactly is wrong.
	Reason string
}

func (e *InvalidAppendError) Error() string {
	msg := fmt.Sprintf("%v (stream %q", e.Err, e.Stream)
	if e.Index >= 0 {
		msg += fmt.Sprintf(", event %d", e.Index)
	}
	msg += ")"
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap returns the sentinel.
func (e *InvalidAppendError) Unwrap() error { return e.Err }

// DecodeError reports an event the type registry could not turn into a Go
// value: an unknown type ([ErrUnknownEventType]), a payload that does not
// decode, or an upcaster that failed ([ErrDecode]). It names the event.
type DecodeError struct {
	Stream  string
	Version uint64
	Type    string
	// Err is the sentinel, joined with the cause where there is one.
	Err error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%v (stream %q, version %d, type %q)", e.Err, e.Stream, e.Version, e.Type)
}

// Unwrap returns the sentinel and the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// UnreadableEventError reports a stored event that a read cannot return:
// the backend fails on that one event (for example, a payload the database
// cannot print within its memory limits). A read that meets one yields
// every event before it, then this error, which names the event, so that a
// subscriber can stop at it, show it to an operator, and skip it by
// resuming after Position. It unwraps to [ErrUnreadableEvent] and the cause.
type UnreadableEventError struct {
	Position Position
	Stream   string
	Version  uint64
	EventID  uuid.UUID
	Type     string
	// Err is the backend's error for this event.
	Err error
}

func (e *UnreadableEventError) Error() string {
	return fmt.Sprintf("eventstore: unreadable event %s at %v (stream %q, version %d, type %q): %v",
		e.EventID, e.Position, e.Stream, e.Version, e.Type, e.Err)
}

// Unwrap returns [ErrUnreadableEvent] and the cause.
func (e *UnreadableEventError) Unwrap() []error { return []error{ErrUnreadableEvent, e.Err} }

// IsRetryable reports whether running the same operation again (after
// reloading state, for a version conflict) can succeed: a version conflict, a
// transient conflict, or any error that says so through a
// `Retryable() bool` method (a backend's dropped connection, for example).
// A conflict on an event ID is not retryable: the same IDs will conflict
// again.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if ce, ok := errors.AsType[*ConflictError](err); ok {
		return ce.EventID == uuid.Nil || ce.Retry
	}
	if r, ok := errors.AsType[retryable](err); ok {
		return r.Retryable()
	}
	return false
}

type retryable interface {
	error
	Retryable() bool
}
