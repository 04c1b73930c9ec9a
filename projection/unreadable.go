package projection

import (
	"context"
	"errors"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
)

// stuckRead counts the failed reads of one event the store cannot return.
type stuckRead struct {
	at       eventstore.Position
	attempts int
	pause    backoff.Backoff
}

// unreadable handles a read that failed with ue, an event the store cannot
// return (an [*eventstore.UnreadableEventError]): like an event whose
// handler fails, it is tried again — the read starts over from the
// checkpoint — with back-off, and after [Config.MaxAttempts] failed reads
// the projection stops [Failed] at it, with the store's error in its
// [Failure], for an operator to retry (once the store can return it) or
// skip. It returns true when the read should be tried again; false with
// rec.State Failed when the projection stopped; an error when the worker
// must stop (ctx ended, stop ended — its cause —, the claim is lost).
func (w *worker[Tx]) unreadable(ctx, stop context.Context, claim Claim[Tx], rec *Record, ue *eventstore.UnreadableEventError, s *stuckRead) (bool, error) {
	if s.at != ue.Position || s.attempts == 0 {
		*s = stuckRead{at: ue.Position, pause: backoff.Backoff{Min: w.r.cfg.Backoff, Max: w.r.cfg.MaxBackoff}}
	}
	s.attempts++
	e := eventstore.RecordedEvent{Event: eventstore.Event{ID: ue.EventID, Type: ue.Type}, StreamID: ue.Stream,
		Version: ue.Version, Position: ue.Position}
	if s.attempts >= w.r.cfg.MaxAttempts {
		return false, w.fail(ctx, claim, rec, e, s.attempts, ue)
	}
	w.r.log.Warn("event unreadable; reading it again", "projection", w.p.name, "position", ue.Position,
		"event", ue.EventID, "attempt", s.attempts, "error", ue)
	if !backoff.Wait(ctx, s.pause.Next(), stop.Done()) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, context.Cause(stop)
	}
	return true, nil
}

// asUnreadable returns err's [*eventstore.UnreadableEventError] if it names
// an event after the checkpoint (one the projection has yet to handle).
func asUnreadable(err error, rec *Record) (*eventstore.UnreadableEventError, bool) {
	ue, ok := errors.AsType[*eventstore.UnreadableEventError](err)
	if !ok || !ue.Position.After(rec.Checkpoint) {
		return nil, false
	}
	return ue, true
}
