package saga

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

// RetryParked handles the parked event eventID again, now: for an operator
// who fixed what made the handler fail on it (the code, or the data it
// read). The event is read back from the log by its stream and version and
// handled as if it were delivered now; an instance that has handled later
// events since handles this one out of order, which is the operator's
// call. In the same commit the event leaves the parked list. If the
// handler fails again, the event is parked anew with the new error and
// RetryParked returns an error matching [ErrParkedAgain]; an event that is
// not parked (or that a concurrent retry took) gives [ErrNotParked].
func (e *Engine) RetryParked(ctx context.Context, eventID uuid.UUID) error {
	if e.events == nil {
		return fmt.Errorf("%w: retrying a parked event needs the event store", ErrInvalidConfig)
	}
	name := e.def.sagaName()
	parked, err := e.store.ParkedEvents(ctx, name)
	if err != nil {
		return err
	}
	var p *Parked
	for i := range parked {
		if parked[i].EventID == eventID {
			p = &parked[i]
			break
		}
	}
	if p == nil {
		return fmt.Errorf("%w: %s has no parked event %s", ErrNotParked, name, eventID)
	}
	var ev eventstore.RecordedEvent
	for got, err := range e.events.ReadStream(ctx, p.StreamID, eventstore.ReadStreamOptions{From: p.Version, Limit: 1}) {
		if err != nil {
			return fmt.Errorf("saga %s: reading parked event %s (%s@%d): %w", name, eventID, p.StreamID, p.Version, err)
		}
		ev = got
	}
	if ev.ID != eventID {
		return fmt.Errorf("saga %s: the log holds event %s at %s@%d, not the parked event %s", name, ev.ID, p.StreamID, p.Version, eventID)
	}
	for attempt := 1; ; attempt++ {
		c, err := e.plan(ctx, []eventstore.RecordedEvent{ev}, true)
		if err != nil {
			return err
		}
		c.Unparked = []uuid.UUID{eventID}
		err = e.store.Commit(ctx, c)
		if errors.Is(err, ErrConflict) && attempt < maxConflictRetries && ctx.Err() == nil {
			if still, lerr := e.stillParked(ctx, eventID); lerr != nil || !still {
				return errors.Join(lerr, fmt.Errorf("%w: %s: event %s was retried meanwhile", ErrNotParked, name, eventID))
			}
			continue
		}
		if err != nil {
			return err
		}
		e.log.Info("saga: parked event retried", "event", eventID, "type", ev.Type, "parked_again", len(c.Parked) > 0)
		if len(c.Commands) > 0 {
			e.poke()
		}
		if len(c.Parked) > 0 {
			return fmt.Errorf("%w: %s", ErrParkedAgain, c.Parked[0].Error)
		}
		return nil
	}
}

func (e *Engine) stillParked(ctx context.Context, eventID uuid.UUID) (bool, error) {
	parked, err := e.store.ParkedEvents(ctx, e.def.sagaName())
	if err != nil {
		return false, err
	}
	for _, p := range parked {
		if p.EventID == eventID {
			return true, nil
		}
	}
	return false, nil
}
