package saga

import (
	"context"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/catchup"
)

// WaitFor returns once the engine's saga has handled every event it reacts
// to up to and including pos (its state, outbox and deadlines are stored:
// the commands may not be sent yet), or with ctx's error: read your writes
// for a saga's state, as [projection.Runner.WaitFor] is for read models.
//
// It reads the saga's checkpoint from the [Store], so it also waits for an
// engine in another process that owns the subscription; this engine's own
// commits wake it at once, others are polled (every 100ms at most).
// Events the saga does not react to do not hold it up. An engine built
// without an event store (dispatch only) has nothing to wait for and
// returns at once.
func (e *Engine) WaitFor(ctx context.Context, pos eventstore.Position) error {
	if e.events == nil {
		return nil
	}
	return catchup.Wait(ctx, catchup.Source{
		Store:   e.events,
		Filter:  eventstore.Filter{EventTypes: e.def.eventTypes()},
		Changed: e.changed,
		Checkpoint: func(ctx context.Context) (eventstore.Position, error) {
			return e.store.Checkpoint(ctx, e.Name())
		},
	}, pos)
}

// changed returns a channel closed at this engine's next checkpoint move.
func (e *Engine) changed() <-chan struct{} {
	e.commits.Lock()
	defer e.commits.Unlock()
	if e.committed == nil {
		e.committed = make(chan struct{})
	}
	return e.committed
}

// notify wakes the waiters of [Engine.WaitFor] after a checkpoint move.
func (e *Engine) notify() {
	e.commits.Lock()
	if e.committed != nil {
		close(e.committed)
		e.committed = nil
	}
	e.commits.Unlock()
}
