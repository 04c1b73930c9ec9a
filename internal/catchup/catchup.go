// Package catchup is read-your-writes for subscribers of the log: it waits
// until a subscriber (a projection, a saga) has handled every event it
// handles up to a position. The projection runner's and the saga engine's
// WaitFor share it.
package catchup

import (
	"context"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
)

// scanLimit is how many events one look at the log reads.
const scanLimit = 512

// Source is one subscriber, as Wait sees it.
type Source struct {
	// Store is the log the subscriber follows.
	Store eventstore.Store
	// Filter is what the subscriber handles; its checkpoint only moves on
	// events that pass it.
	Filter eventstore.Filter
	// Checkpoint reads the position of the last event the subscriber
	// handled; it may fail with a reason to stop waiting (a projection
	// stopped at a failed event before the position).
	Checkpoint func(ctx context.Context) (eventstore.Position, error)
	// Changed, if not nil, returns a channel closed when the checkpoint
	// may have moved in this process, so a wait ends without polling. Take
	// it before reading the checkpoint.
	Changed func() <-chan struct{}
	// MaxPoll is the longest pause between two reads of the checkpoint
	// (which may move in another process); default 100ms.
	MaxPoll time.Duration
}

// Wait returns nil once every event up to and including pos that passes
// src.Filter has been handled, ctx's error when ctx ends first, or the
// error of src.Checkpoint.
//
// The checkpoint of a filtered subscriber stays at the last event it
// handled, so Wait also reads the log after it: when no event up to pos
// passes the filter, everything up to pos is handled already. The log is
// read only below its horizon (what ReadAll returns is final), so an event
// Wait passed over can never appear later.
func Wait(ctx context.Context, src Source, pos eventstore.Position) error {
	maxPoll := src.MaxPoll
	if maxPoll <= 0 {
		maxPoll = 100 * time.Millisecond
	}
	var clear eventstore.Position   // every handled event up to clear is handled
	var pending eventstore.Position // an event up to pos the subscriber handles and had not
	poll := time.Millisecond
	for {
		var changed <-chan struct{}
		if src.Changed != nil {
			changed = src.Changed()
		}
		cp, err := src.Checkpoint(ctx)
		if err != nil {
			return err
		}
		if !cp.Before(pos) {
			return nil
		}
		if cp.After(clear) {
			clear = cp
		}
		if !pending.After(clear) {
			// Look for the next event up to pos that the subscriber handles.
			next, found, done, err := scan(ctx, src, clear, pos)
			if err != nil {
				return err
			}
			if done {
				return nil
			}
			clear = next
			if found {
				pending = next
				clear = prev(next)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !backoff.Wait(ctx, poll, changed) && ctx.Err() != nil {
			return ctx.Err()
		}
		poll = min(2*poll, maxPoll)
	}
}

// prev is a position just before p, so that p itself is not yet clear.
func prev(p eventstore.Position) eventstore.Position {
	if p.Prepare > 0 {
		return eventstore.Position{Commit: p.Commit, Prepare: p.Prepare - 1}
	}
	if p.Commit > 0 {
		return eventstore.Position{Commit: p.Commit - 1, Prepare: ^uint64(0)}
	}
	return p
}

// scan reads the log after from: done when it passes pos without an event
// the subscriber handles; found (at next) when it meets one up to pos;
// otherwise next is the last event it read (all passed over).
func scan(ctx context.Context, src Source, from, pos eventstore.Position) (next eventstore.Position, found, done bool, err error) {
	next = from
	for {
		n := 0
		for e, err := range src.Store.ReadAll(ctx, eventstore.ReadAllOptions{From: next, Limit: scanLimit}) {
			if err != nil {
				return next, false, false, err
			}
			n++
			if e.Position.After(pos) {
				return next, false, true, nil
			}
			if src.Filter.Match(e.StreamID, e.Type) {
				return e.Position, true, false, nil
			}
			next = e.Position
			if next == pos {
				return next, false, true, nil
			}
		}
		if n < scanLimit {
			// The end of what is visible: pos is not (yet) in the log.
			return next, false, false, nil
		}
	}
}
