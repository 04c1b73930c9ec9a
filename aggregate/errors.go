package aggregate

import (
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

var (
	// ErrNotFound: the aggregate has no events. [Repository.Load] returns a
	// [*NotFoundError], which also matches [eventstore.ErrStreamNotFound].
	ErrNotFound = errors.New("aggregate: not found")
	// ErrAlreadyApplied: the command being handled (its ID seeds the event
	// IDs, see [Unit]) was already applied to the aggregate. See
	// [AlreadyAppliedError].
	ErrAlreadyApplied = errors.New("aggregate: command already applied")
	// ErrInvalidID: an aggregate ID is empty.
	ErrInvalidID = errors.New("aggregate: invalid aggregate ID")
	// ErrInvalidSnapshot: a snapshot store refused a snapshot that breaks
	// the rule of [Snapshot.Validate]. See [InvalidSnapshotError].
	ErrInvalidSnapshot = errors.New("aggregate: invalid snapshot")
)

// InvalidSnapshotError reports a snapshot a [SnapshotStore] refused, with
// nothing stored. It unwraps to [ErrInvalidSnapshot].
type InvalidSnapshotError struct {
	Stream string
	// Field names what is wrong ("Stream", "Type", "Version",
	// "SchemaVersion"); Reason says how.
	Field  string
	Reason string
}

func (e *InvalidSnapshotError) Error() string {
	return fmt.Sprintf("aggregate: invalid snapshot of stream %q: %s %s", e.Stream, e.Field, e.Reason)
}

// Unwrap returns [ErrInvalidSnapshot].
func (e *InvalidSnapshotError) Unwrap() error { return ErrInvalidSnapshot }

// NotFoundError reports a load of an aggregate whose stream has no events.
// It matches [ErrNotFound] and [eventstore.ErrStreamNotFound].
type NotFoundError struct {
	Type   string
	ID     string
	Stream string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("aggregate: %s %q not found (stream %q has no events)", e.Type, e.ID, e.Stream)
}

// Unwrap returns [ErrNotFound] and [eventstore.ErrStreamNotFound].
func (e *NotFoundError) Unwrap() []error {
	return []error{ErrNotFound, eventstore.ErrStreamNotFound}
}

// AlreadyAppliedError reports that the command whose ID seeds the event IDs
// of the current [Unit] was already applied to a stream: the events it
// appended then are stored, and Appended describes them. A repository
// returns it from Load (the events are among those it read) or from Save (the
// store refused the events' IDs as already stored). The command package's
// idempotency middleware turns it into success with the original result.
type AlreadyAppliedError struct {
	// Seed is the command ID the event IDs derive from.
	Seed uuid.UUID
	// Appended is what the command appended to the stream the first time.
	Appended Appended
}

func (e *AlreadyAppliedError) Error() string {
	return fmt.Sprintf("aggregate: command %s already applied to stream %q (versions %d to %d)",
		e.Seed, e.Appended.Stream, e.Appended.From, e.Appended.To)
}

// Unwrap returns [ErrAlreadyApplied].
func (e *AlreadyAppliedError) Unwrap() error { return ErrAlreadyApplied }
