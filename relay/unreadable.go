package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
)

// An event the store cannot return.
//
// A read that reaches an event the store cannot return (on PostgreSQL, a
// payload written before the event store's migration 4 that jsonb cannot
// print) yields every event before it, then an
// [*eventstore.UnreadableEventError] naming it. Reading it again from the
// checkpoint for good would publish nothing after it, and each read may
// cost the server as much as the first. So the relay reads it again, with
// back-off, [Config.ReadAttempts] times in all, then parks it as a
// [KindUnreadable] entry — what the error named, and the error — in the
// write that moves the checkpoint past it, and goes on. An operator's
// retry reads it again by its stream and version: if it reads now (the
// data was repaired), it is selected, mapped and published like any event;
// if not, it stays parked with the new error. Skip forgets it.

// stuckRead counts the failed reads of one unreadable event.
type stuckRead struct {
	at       eventstore.Position
	attempts int
	pause    backoff.Backoff
}

// unreadable handles a read that failed with ue, an event after the
// checkpoint: it waits to read again (nil), or, after
// [Config.ReadAttempts] failed reads, parks the event and moves the
// checkpoint past it (nil). An error means the event is not parked: the
// write failed, or the checkpoint is not where the read started.
func (r *Relay) unreadable(ctx context.Context, claim Claim, ue *eventstore.UnreadableEventError, s *stuckRead) error {
	if s.at != ue.Position || s.attempts == 0 {
		*s = stuckRead{at: ue.Position, pause: backoff.Backoff{Min: r.cfg.Backoff, Max: r.cfg.MaxBackoff}}
	}
	s.attempts++
	if s.attempts < r.cfg.ReadAttempts {
		r.log.Warn("event unreadable; reading it again", "position", ue.Position.String(), "event", ue.EventID,
			"attempt", s.attempts, "error", ue)
		if ferr := claim.Failed(ctx, ue.Error()); ferr != nil && ctx.Err() == nil {
			r.log.Warn("recording the error failed", "error", ferr)
		}
		backoff.Sleep(ctx, s.pause.Next())
		return nil
	}
	rec, err := claim.Record(ctx)
	if err != nil {
		return err
	}
	if !ue.Position.After(rec.Checkpoint) {
		return ue // the checkpoint is past it: nothing to park
	}
	p := Parked{Relay: r.cfg.Name, Kind: KindUnreadable, Position: ue.Position, Error: ue.Error(), State: StateParked,
		Attempts: s.attempts, ParkedAt: time.Now(),
		Message: broker.Message{ID: ue.EventID.String(), Source: r.cfg.Source, Type: ue.Type, Subject: ue.Stream,
			Position: ue.Position, StreamVersion: ue.Version}}
	if err := claim.Advance(ctx, rec.Checkpoint, ue.Position, time.Time{}, 0, []Parked{p}); err != nil {
		return err
	}
	s.attempts = 0
	r.log.Error("event unreadable; parked it", "position", ue.Position.String(), "event", ue.EventID,
		"stream", ue.Stream, "version", ue.Version, "type", ue.Type, "error", ue)
	return nil
}

// retryUnreadable reads p, a parked unreadable event an operator asked to
// retry, again: if it reads now, it is selected, mapped and published like
// any event; if not, it is parked again with the new error. It returns
// false when ctx ended.
func (r *Relay) retryUnreadable(ctx context.Context, claim Claim, p Parked) bool {
	id := p.Message.ID
	e, err := r.readParked(ctx, p)
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		r.log.Warn("a parked unreadable event is still unreadable", "event", id, "error", err)
		r.resolve(ctx, claim, id, err)
		return ctx.Err() == nil
	}
	if (!r.cfg.Filter.IsZero() && !r.cfg.Filter.Match(e.StreamID, e.Type)) || (r.cfg.Select != nil && !r.cfg.Select(e)) {
		// Not to be published after all: forgotten, as if it had been read.
		if _, err := r.state.Skip(ctx, r.cfg.Name, id); err != nil && ctx.Err() == nil {
			r.log.Warn("forgetting a parked event not selected failed", "event", id, "error", err)
		}
		return ctx.Err() == nil
	}
	m, err := r.cfg.Map(e)
	if err != nil {
		r.resolve(ctx, claim, id, fmt.Errorf("relay %s: map event %s (%s): %w", r.cfg.Name, e.ID, e.Type, err))
		return ctx.Err() == nil
	}
	done := r.tel.publish(ctx, e, &m)
	if r.cfg.Hooks.Publish != nil {
		done = both(done, r.cfg.Hooks.Publish(ctx, e, &m))
	}
	c, err := r.pub.Publish(ctx, m)
	if err == nil {
		err = broker.Wait(ctx, c)
	}
	if done != nil {
		done(err)
	}
	if ctx.Err() != nil {
		return false
	}
	if err != nil && !broker.IsPermanent(err) {
		r.log.Warn("retrying a parked event failed; trying again later", "event", id, "error", err)
		return true
	}
	r.resolve(ctx, claim, id, err)
	return ctx.Err() == nil
}

// readParked reads the event p names by its stream and version.
func (r *Relay) readParked(ctx context.Context, p Parked) (eventstore.RecordedEvent, error) {
	stream, version := p.Message.Subject, p.Message.StreamVersion
	var e eventstore.RecordedEvent
	found := false
	for got, err := range r.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: version, Limit: 1}) {
		if err != nil {
			return e, fmt.Errorf("relay %s: read parked event %s (%s@%d): %w", r.cfg.Name, p.Message.ID, stream, version, err)
		}
		e, found = got, true
	}
	if !found || e.ID.String() != p.Message.ID {
		got := "nothing"
		if found {
			got = "event " + e.ID.String()
		}
		return e, fmt.Errorf("relay %s: the log holds %s at %s@%d, not the parked event %s", r.cfg.Name, got, stream, version, p.Message.ID)
	}
	return e, nil
}

func (r *Relay) resolve(ctx context.Context, claim Claim, id string, err error) {
	if rerr := claim.Resolve(ctx, id, err); rerr != nil && ctx.Err() == nil && !errors.Is(rerr, context.Canceled) {
		r.log.Warn("settling a retried event failed", "event", id, "error", rerr)
	}
}
