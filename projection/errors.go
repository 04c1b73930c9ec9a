package projection

import (
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/eventstore"
)

var (
	// ErrInvalidName: a projection name is empty, too long or holds control
	// characters.
	ErrInvalidName = errors.New("projection: invalid name")
	// ErrUnknownProjection: no projection (or no checkpoint) of that name.
	ErrUnknownProjection = errors.New("projection: unknown projection")
	// ErrFenced: a checkpoint write found the checkpoint moved by someone
	// else (another owner, or an operator's skip): this claim's view is stale
	// and it wrote nothing.
	ErrFenced = errors.New("projection: checkpoint moved by someone else")
	// ErrClaimLost: the claim's ownership ended (in PostgreSQL, its
	// connection died and with it the advisory lock); nothing was written.
	ErrClaimLost = errors.New("projection: ownership lost")
	// ErrNotFailed: skip or retry of a projection that is not stopped at a
	// failed event.
	ErrNotFailed = errors.New("projection: not stopped at a failed event")
	// ErrNoReset: a rebuild of a projection that declares no reset function.
	ErrNoReset = errors.New("projection: no reset function, cannot rebuild")
)

// HandlerError reports a handler that failed on an event. It is what a
// [Failure] records and what [Runner] logs.
type HandlerError struct {
	Projection string
	Event      eventstore.RecordedEvent
	Err        error
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("projection %q: event %s (stream %q, version %d, type %q, position %v): %v",
		e.Projection, e.Event.ID, e.Event.StreamID, e.Event.Version, e.Event.Type, e.Event.Position, e.Err)
}

// Unwrap returns the handler's error.
func (e *HandlerError) Unwrap() error { return e.Err }
