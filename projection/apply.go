package projection

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
)

// applyBatch applies events and moves the checkpoint past them, on ctx. If
// the batch fails it is applied again one event at a time, so the good
// events before a poison one commit and the poison one is found exactly. It
// returns an error only when the worker must stop serving (ownership lost,
// ctx ended) or stop, the back-off between tries of a failing event, ended
// (its cause); a projection that stops at a failed event returns nil with
// rec.State set to Failed.
func (w *worker[Tx]) applyBatch(ctx, stop context.Context, claim Claim[Tx], rec *Record, events []eventstore.RecordedEvent) error {
	err := w.commit(ctx, claim, rec, events)
	if err == nil || mustStop(ctx, err) {
		return err
	}
	if he, ok := errors.AsType[*HandlerError](err); ok {
		// The failing event is known: commit the events before it as one
		// batch, retry it alone, then go on with the rest.
		i := slices.IndexFunc(events, func(e eventstore.RecordedEvent) bool { return e.Position == he.Event.Position })
		if i >= 0 {
			if i > 0 {
				if err := w.applyBatch(ctx, stop, claim, rec, events[:i]); err != nil || rec.State == Failed {
					return err
				}
			}
			if err := w.applyOne(ctx, stop, claim, rec, events[i], true, err); err != nil || rec.State == Failed {
				return err
			}
			if i+1 < len(events) {
				return w.applyBatch(ctx, stop, claim, rec, events[i+1:])
			}
			return nil
		}
	}
	if len(events) > 1 {
		w.r.log.Warn("batch failed; applying its events one by one", "projection", w.p.name, "events", len(events), "error", err)
	}
	for i, e := range events {
		if err := w.applyOne(ctx, stop, claim, rec, e, i == 0 && len(events) == 1, err); err != nil {
			return err
		}
		if rec.State == Failed {
			return nil
		}
	}
	return nil
}

// applyOne tries one event until it commits or MaxAttempts have failed. When
// counted is set, firstErr is the event's first failed attempt already. The
// back-off between tries ends early when stop does.
func (w *worker[Tx]) applyOne(ctx, stop context.Context, claim Claim[Tx], rec *Record, e eventstore.RecordedEvent, counted bool, firstErr error) error {
	cfg := w.r.cfg
	pause := backoff.Backoff{Min: cfg.Backoff, Max: cfg.MaxBackoff}
	attempt, err := 0, error(nil)
	if counted {
		attempt, err = 1, firstErr
	}
	for {
		if attempt > 0 {
			if attempt >= cfg.MaxAttempts {
				return w.fail(ctx, claim, rec, e, attempt, err)
			}
			w.r.log.Warn("event failed; retrying", "projection", w.p.name, "position", e.Position,
				"attempt", attempt, "error", err)
			if !backoff.Wait(ctx, pause.Next(), stop.Done()) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return context.Cause(stop)
			}
		}
		attempt++
		if err = w.commit(ctx, claim, rec, []eventstore.RecordedEvent{e}); err == nil || mustStop(ctx, err) {
			return err
		}
	}
}

func (w *worker[Tx]) fail(ctx context.Context, claim Claim[Tx], rec *Record, e eventstore.RecordedEvent, attempts int, err error) error {
	msg := err.Error()
	if he, ok := errors.AsType[*HandlerError](err); ok {
		msg = he.Err.Error()
	}
	f := Failure{Position: e.Position, EventID: e.ID, Stream: e.StreamID, Version: e.Version, Type: e.Type,
		RecordedAt: e.RecordedAt, Error: msg, Attempts: attempts, At: time.Now().UTC()}
	if err := claim.Fail(ctx, rec.Checkpoint, f); err != nil {
		return err
	}
	rec.State, rec.Failure = Failed, &f
	w.r.log.Error("projection stopped at a failed event", "projection", w.p.name, "position", e.Position,
		"event", e.ID, "stream", e.StreamID, "version", e.Version, "type", e.Type, "attempts", attempts, "error", msg)
	return nil
}

// commit applies events and the checkpoint in one unit of work.
func (w *worker[Tx]) commit(ctx context.Context, claim Claim[Tx], rec *Record, events []eventstore.RecordedEvent) error {
	last := events[len(events)-1]
	adv := Advance{To: last.Position, At: last.RecordedAt, Events: len(events)}
	tctx, b := w.r.tel.startBatch(ctx, w.p.name, events)
	err := claim.Commit(tctx, rec.Checkpoint, adv, func(ctx context.Context, tx Tx) error {
		for _, e := range events {
			if err := w.p.apply(ctx, tx, e); err != nil {
				return &HandlerError{Projection: w.p.name, Event: e, Err: err}
			}
		}
		return nil
	})
	w.r.tel.end(ctx, b, w.p.name, len(events), err)
	if err != nil {
		return err
	}
	rec.Checkpoint, rec.CheckpointAt = adv.To, adv.At
	rec.Handled += uint64(adv.Events)
	w.r.notify()
	return nil
}

// mustStop reports whether err ends the worker's service rather than
// counting as a failed attempt.
func mustStop(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, ErrClaimLost) || errors.Is(err, ErrFenced)
}
