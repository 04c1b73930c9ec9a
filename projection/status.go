package projection

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/lag"
)

// LagScanLimit is the most events [Describe] reads to count a projection's
// lag; beyond it the count is a lower bound.
const LagScanLimit = lag.ScanLimit

// Status is a projection's record with where the log is.
type Status struct {
	Record
	// Head is the position of the last event in the log that readers can
	// reach now.
	Head eventstore.Position
	// Tip is the last committed event. It is beyond Head while the store's
	// horizon holds committed events back (PostgreSQL, behind a transaction
	// still running anywhere in the cluster); HeldBy is then that
	// transaction, when the store can tell. No projection gets past Head
	// until it ends, and a rebuild waits for it.
	Tip    eventstore.Position
	HeldBy *eventstore.HorizonHolder
	// LagEvents counts the events after the checkpoint that the projection
	// will handle (those passing its filter). LagAtLeast is set when there
	// were more than [LagScanLimit] events to look at, so LagEvents is only
	// a lower bound.
	LagEvents  int
	LagAtLeast bool
	// Lag is how long the oldest event the projection has not handled has
	// been waiting; zero when it is caught up. For a projection stopped at
	// an event the store cannot return (whose recording time is unknown),
	// it is the wait of the first one after it.
	Lag time.Duration
}

// Head returns the position and recording time of the last event in the
// log, or the zero Position for an empty log. It works on every store.
func Head(ctx context.Context, store eventstore.Store) (eventstore.Position, time.Time, error) {
	return lag.Head(ctx, store)
}

// Describe adds the head of store's log (and, for a store with a horizon,
// its tip and what holds the horizon back) and each projection's lag to
// records. A process that does not run the projections (the CLI) calls it
// with the records it read from the checkpoint store.
func Describe(ctx context.Context, store eventstore.Store, records ...Record) ([]Status, error) {
	// Head reads the log (a PostgreSQL read waits a moment for a horizon
	// held by a short transaction); the horizon, if the store has one, adds
	// what lies beyond it.
	head, _, err := Head(ctx, store)
	if err != nil {
		return nil, err
	}
	h := eventstore.Horizon{Head: head, Tip: head}
	if hr, ok := store.(eventstore.HorizonReader); ok {
		if h, err = hr.Horizon(ctx); err != nil {
			return nil, err
		}
		if head.After(h.Tip) { // appended between the two reads
			h.Tip = head
		}
		if !h.Tip.After(head) {
			h.Holder = nil
		}
	}
	now := time.Now()
	out := make([]Status, len(records))
	for i, r := range records {
		s := Status{Record: r, Head: head, Tip: h.Tip, HeldBy: h.Holder}
		if r.Checkpoint.Before(head) {
			from, aged := r.Checkpoint, false
			if f := r.Failure; r.State == Failed && f != nil && f.Position.After(r.Checkpoint) {
				// Stopped at an event: it counts, and the scan starts
				// after it. Reading it again could cost as much as the
				// runner's reads did — for an event the store cannot
				// return (a payload a PostgreSQL schema before migration
				// 4 cannot print), seconds of the server's time and a
				// gigabyte of its memory — on every status call, every
				// metrics collection.
				s.LagEvents, from = 1, f.Position
				if !f.RecordedAt.IsZero() {
					s.Lag, aged = max(now.Sub(f.RecordedAt), 0), true
				}
			}
			c, err := lag.Scan(ctx, store, from, r.Filter)
			if err != nil {
				return nil, err
			}
			s.LagEvents += c.Events
			s.LagAtLeast = c.AtLeast
			if !aged && !c.Oldest.IsZero() {
				s.Lag = max(now.Sub(c.Oldest), 0)
			}
		}
		out[i] = s
	}
	return out, nil
}
