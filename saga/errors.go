package saga

import (
	"errors"
	"fmt"
)

var (
	// ErrConflict: a store write lost a race. The instance was changed since it
	// was loaded (its version moved), or a reserved deadline was cancelled,
	// rescheduled or fired by someone else. Nothing of the commit was written;
	// the engine reloads and runs again.
	ErrConflict = errors.New("saga: concurrent modification")
	// ErrLeaseLost: the engine's subscription lease was taken over by another
	// process; its checkpoint write was refused and nothing was written.
	ErrLeaseLost = errors.New("saga: subscription lease lost")
	// ErrInvalidDefinition: a saga definition is incomplete or inconsistent.
	ErrInvalidDefinition = errors.New("saga: invalid definition")
	// ErrInvalidConfig: a Config does not validate.
	ErrInvalidConfig = errors.New("saga: invalid config")
	// ErrNotFound: no saga instance with that ID.
	ErrNotFound = errors.New("saga: instance not found")
	// ErrNotParked: a retry of an event the saga has not parked (or no
	// longer: another retry took it).
	ErrNotParked = errors.New("saga: event not parked")
	// ErrParkedAgain: a retried parked event failed again and is parked
	// again, with the new error.
	ErrParkedAgain = errors.New("saga: retried event failed again")
)

// ConflictError says which saga instance a [ErrConflict] is about.
type ConflictError struct {
	Saga     string
	Instance string
	// Expected is the version the writer loaded (0 for a new instance).
	Expected int64
	Reason   string
}

func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("saga: concurrent modification of %s/%s (expected version %d)", e.Saga, e.Instance, e.Expected)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap returns [ErrConflict].
func (e *ConflictError) Unwrap() error { return ErrConflict }

// HandlerError reports a saga handler that failed on an event or deadline.
// After [Config.HandlerAttempts] failures the event is parked with this error.
type HandlerError struct {
	Saga     string
	Instance string
	// What failed: an event type, or "deadline <name>".
	What string
	Err  error
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("saga %s/%s: handling %s: %v", e.Saga, e.Instance, e.What, e.Err)
}

// Unwrap returns the handler's error.
func (e *HandlerError) Unwrap() error { return e.Err }
