package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/internal/pgerr"
)

// ErrNotMigrated reports a store whose schema lacks the event store's
// tables: run [Store.Migrate] or `chronicle migrate`.
var ErrNotMigrated = errors.New("postgres: event store schema is not migrated")

// ErrNeedsReanchor reports a write refused because the store needs
// [Store.Reanchor]: stored transaction ids are at or above the ones the
// server hands out (a dump restored on another server, say), so that new
// events would sort before stored ones, behind every subscriber. Run
// [Store.Reanchor] or `chronicle reanchor`; [Status.NeedsReanchor] tells
// when it is needed. Reads work meanwhile.
var ErrNeedsReanchor = errors.New("postgres: event store needs Reanchor")

// needsReanchor returns the error a write gets while the store needs
// Reanchor. (Not an *Error, whose Retryable is about the connection and
// the server's transient refusals.)
func (s *Store) needsReanchor(op, stream string) error {
	what := "postgres: " + op
	if stream != "" {
		what += fmt.Sprintf(" %q", stream)
	}
	return fmt.Errorf("%s: %w (schema %q): stored transaction ids are at or above those this server hands out "+
		"(a restored dump?), so new events would sort before them and subscribers would never see them; "+
		"run Store.Reanchor or `chronicle reanchor`", what, ErrNeedsReanchor, s.cfg.Schema)
}

// Error wraps a PostgreSQL or connection error with the operation and
// stream it happened in. Retryable reports whether running the operation
// again can succeed (a dropped connection, a serialization failure), which
// [eventstore.IsRetryable] reads.
type Error struct {
	Op     string
	Stream string
	Err    error
}

func (e *Error) Error() string {
	if e.Stream != "" {
		return fmt.Sprintf("postgres: %s %q: %v", e.Op, e.Stream, e.Err)
	}
	return fmt.Sprintf("postgres: %s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the error is transient.
func (e *Error) Retryable() bool { return transient(e.Err) }

func (s *Store) mapError(op, stream string, err error) error {
	if pgerr.IsUndefinedObject(err) {
		err = fmt.Errorf("%w (schema %q): %w", ErrNotMigrated, s.cfg.Schema, err)
	}
	return &Error{Op: op, Stream: stream, Err: err}
}

// failed is what an operation whose query failed with err returns: the
// caller's context error when ctx has ended (the query failed because of
// it), else err mapped as mapError does.
func (s *Store) failed(ctx context.Context, op, stream string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return s.mapError(op, stream, err)
}

// transient reports whether err is worth retrying: a connection problem or a
// server error that says so, as [pgerr.Transient] classifies them. A row
// that does not decode does not get better, whatever it wraps.
func transient(err error) bool {
	if _, ok := errors.AsType[*rowError](err); ok {
		return false
	}
	return pgerr.Transient(err)
}
