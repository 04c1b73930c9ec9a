// Package lag measures how far a subscriber of the log (a projection, a
// relay) is behind: where the log ends, and how many of the events after a
// checkpoint the subscriber will handle. The projection and relay status
// share it, so both count the same way and both survive an event the store
// cannot return.
package lag

import (
	"context"
	"errors"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
)

// ScanLimit is the most events [Scan] reads; beyond it the count is a
// lower bound.
const ScanLimit = 10000

// Head returns the position and recording time of the last event in the
// log, or the zero Position for an empty log. It works on every store. When
// the last event is one the store cannot return, its position comes with a
// zero time.
func Head(ctx context.Context, store eventstore.Store) (eventstore.Position, time.Time, error) {
	for e, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{Direction: eventstore.Backwards, Limit: 1}) {
		if ue, ok := errors.AsType[*eventstore.UnreadableEventError](err); ok {
			return ue.Position, time.Time{}, nil
		}
		if err != nil {
			return eventstore.Position{}, time.Time{}, err
		}
		return e.Position, e.RecordedAt, nil
	}
	return eventstore.Position{}, time.Time{}, nil
}

// Count is what [Scan] found after a checkpoint.
type Count struct {
	// Events counts the events passing the filter.
	Events int
	// AtLeast is set when the scan stopped before the end of the log
	// (more than [ScanLimit] events, or an event the store cannot return):
	// Events is then a lower bound.
	AtLeast bool
	// Oldest is the recording time of the first event counted; zero when
	// none was, or when the first one counted could not be read.
	Oldest time.Time
}

// Scan reads up to [ScanLimit] events of store's log after from and counts
// those passing filter. An event the store cannot return counts when its
// stream and type pass the filter, and ends the scan: what follows it is
// unknown.
func Scan(ctx context.Context, store eventstore.Store, from eventstore.Position, filter eventstore.Filter) (Count, error) {
	var c Count
	scanned := 0
	for e, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{From: from, Limit: ScanLimit + 1}) {
		if ue, ok := errors.AsType[*eventstore.UnreadableEventError](err); ok {
			if filter.Match(ue.Stream, ue.Type) {
				c.Events++
			}
			c.AtLeast = true
			return c, nil
		}
		if err != nil {
			return Count{}, err
		}
		if scanned++; scanned > ScanLimit {
			c.AtLeast = true
			return c, nil
		}
		if filter.Match(e.StreamID, e.Type) {
			if c.Events == 0 {
				c.Oldest = e.RecordedAt
			}
			c.Events++
		}
	}
	return c, nil
}
