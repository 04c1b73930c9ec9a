package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pgerr"
)

// A read that fails on one event.
//
// A page is read by one query, and its rows arrive one at a time: when the
// server cannot send one of them (a stored value it cannot print within
// its memory limits, as jsonb could not print huge numbers) or the client
// cannot decode it (metadata written by hand that is not chronicle's
// shape), the rows before it have arrived, and the rest of the page fails.
// Failing the whole read would stall every reader of the log at that event,
// and every retry would pay again. So a read delivers the rows that
// arrived, then names the event that would have come next, by a query that
// selects only the columns that cannot fail (position, stream, version, ID,
// type), and reads that event alone. If it fails again, the read ends with
// an [*eventstore.UnreadableEventError] naming it: a subscriber stops there,
// an operator looks at it and may resume after its Position. If it reads
// fine, the failure was not its fault: the read goes on. Errors that are
// about the connection or the context are not looked into: they end the
// read (or, for a subscription, are retried) as before.

// rowError is a row that arrived but that the client could not scan or
// decode: about that row, never about the connection.
type rowError struct{ err error }

func (e *rowError) Error() string { return "decode event: " + e.err.Error() }
func (e *rowError) Unwrap() error { return e.err }

// isolatable reports whether err, from a page read, may be about one of the
// events it was reading.
func isolatable(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil && !transient(err) && !errors.Is(err, eventstore.ErrClosed)
}

// isolate looks into err, a page read's failure after the events already
// delivered: next (one of the next* statements, with args) names the event
// that would have come next. It returns that event when it reads fine
// alone; an *eventstore.UnreadableEventError when it does not; cause when
// there is no next event (the failure was about none); or the error that
// stopped it from finding out.
func (s *Store) isolate(ctx context.Context, next string, args []any, cause error) (eventstore.RecordedEvent, error) {
	var tid, pos, version int64
	var stream, typ string
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, next, args...).Scan(&tid, &pos, &stream, &version, &id, &typ)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.RecordedEvent{}, cause
	}
	if err != nil {
		return eventstore.RecordedEvent{}, err
	}
	unreadable := func(err error) error {
		return &eventstore.UnreadableEventError{
			Position: eventstore.Position{Commit: uint64(tid), Prepare: uint64(pos)},
			Stream:   stream, Version: uint64(version), EventID: id, Type: typ, Err: err,
		}
	}
	if pgerr.Class(pgerr.Code(cause)) == pgerr.ClassProgramLimit {
		// A program limit (a value the server cannot print within 1 GB)
		// does not go away: reading the event again would cost as much to
		// fail the same way.
		return eventstore.RecordedEvent{}, unreadable(cause)
	}
	buf, err := s.fetch(ctx, nil, s.sql.readAt, tid, pos)
	if err == nil && len(buf) == 1 {
		return buf[0], nil
	}
	if err == nil {
		err = errors.New("postgres: the event is gone") // cannot happen: events are never deleted
	}
	if ctx.Err() != nil || transient(err) {
		return eventstore.RecordedEvent{}, err
	}
	return eventstore.RecordedEvent{}, unreadable(err)
}

// readFailure turns what isolate returned, other than an event, into the
// error a read yields.
func (s *Store) readFailure(op, stream string, err error) error {
	if _, ok := errors.AsType[*eventstore.UnreadableEventError](err); ok {
		return err
	}
	return s.mapError(op, stream, err)
}
