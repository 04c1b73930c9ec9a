package saga

import (
	"context"
	"errors"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/internal/batch"
)

// follow acquires the subscription lease, handles the log from the
// checkpoint while the lease holds, and starts over when it is lost, until
// ctx ends.
func (e *Engine) follow(ctx context.Context) {
	for ctx.Err() == nil {
		lease, err := e.store.Acquire(ctx, e.Name())
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("saga: acquire subscription lease", "error", err)
				backoff.Sleep(ctx, e.cfg.PollInterval)
			}
			continue
		}
		e.setOwner(true)
		err = e.subscribe(ctx, lease)
		e.setOwner(false)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = lease.Release(rctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("saga: subscription stopped; acquiring the lease again", "error", err)
		backoff.Sleep(ctx, e.cfg.PollInterval)
	}
}

// subscribe handles the log under lease until an error, the loss of the
// lease or the end of ctx.
//
// An event the store cannot return (an [*eventstore.UnreadableEventError]
// from the subscription) is handled like one whose handler keeps failing:
// the subscription is opened again, with back-off, up to
// [Config.HandlerAttempts] times, then the event is parked — recorded with
// the store's error, without an instance, and the checkpoint moved past it
// in the same commit — so the saga is never stuck on it, nor skips it
// silently.
func (e *Engine) subscribe(ctx context.Context, lease Lease) error {
	var at eventstore.Position
	attempts := 0
	var pause backoff.Backoff
	for {
		err := e.subscribeOnce(ctx, lease)
		ue, ok := errors.AsType[*eventstore.UnreadableEventError](err)
		if !ok {
			return err
		}
		if ue.Position != at || attempts == 0 {
			at, attempts, pause = ue.Position, 0, backoff.Backoff{Min: e.cfg.HandlerBackoff, Max: e.cfg.RetryMax}
		}
		attempts++
		if attempts < e.cfg.HandlerAttempts {
			e.log.Warn("saga: event unreadable; reading it again", "position", ue.Position.String(), "event", ue.EventID,
				"attempt", attempts, "error", ue)
			if !backoff.Wait(ctx, pause.Next(), lease.Lost()) {
				return e.ended(ctx, lease, ue)
			}
			continue
		}
		if err := e.parkUnreadable(ctx, lease, ue, attempts); err != nil {
			return err
		}
		attempts = 0
	}
}

// parkUnreadable parks ue, an event the store cannot return, and moves the
// checkpoint past it, in one commit fenced by lease.
func (e *Engine) parkUnreadable(ctx context.Context, lease Lease, ue *eventstore.UnreadableEventError, attempts int) error {
	from, err := e.store.Checkpoint(ctx, e.Name())
	if err != nil {
		return err
	}
	if !ue.Position.After(from) {
		return ue // not ahead of the checkpoint: nothing to park
	}
	name := e.Name()
	e.log.Warn("saga: unreadable event parked", "event", ue.EventID, "type", ue.Type, "position", ue.Position.String(), "error", ue)
	return e.store.Commit(ctx, Commit{Saga: name,
		Parked: []Parked{{Saga: name, EventID: ue.EventID, EventType: ue.Type, StreamID: ue.Stream, Version: ue.Version,
			Position: ue.Position, Error: ue.Error(), Attempts: attempts, ParkedAt: e.now()}},
		Checkpoint: &CheckpointWrite{Position: ue.Position, Token: lease.Token()}})
}

// subscribeOnce reads the log from the checkpoint until an error, the loss
// of the lease or the end of ctx. It reads through the batching reader all
// subscribers share ([batch.Subscribe]), bound to a context that also ends
// when the lease is lost; a batch's commit runs on ctx itself, so the loss
// of the lease never cuts a commit off half-way (the commit's fence refuses
// it instead).
func (e *Engine) subscribeOnce(ctx context.Context, lease Lease) error {
	from, err := e.store.Checkpoint(ctx, e.Name())
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-lease.Lost():
			cancel(ErrLeaseLost)
		case <-rctx.Done():
		}
	}()
	opts := eventstore.SubscribeOptions{From: from, Filter: eventstore.Filter{EventTypes: e.def.eventTypes()}}
	for events, err := range batch.Subscribe(rctx, e.events, opts, e.cfg.BatchSize) {
		if err != nil {
			return e.ended(ctx, lease, err)
		}
		if err := e.commitBatch(ctx, events, lease); err != nil {
			return err
		}
	}
	return e.ended(ctx, lease, errors.New("saga: subscription ended"))
}

// ended says why the subscription under lease stopped with err: ctx's end
// or the lease's loss first, since either may also surface as a read error.
func (e *Engine) ended(ctx context.Context, lease Lease, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	select {
	case <-lease.Lost():
		return ErrLeaseLost
	default:
	}
	return err
}

// commitBatch handles a batch, retrying with back-off on store errors: the
// batch is never dropped. Losing the lease ends it, during a back-off too.
func (e *Engine) commitBatch(ctx context.Context, batch []eventstore.RecordedEvent, lease Lease) error {
	pause := backoff.Backoff{Min: e.cfg.RetryMin, Max: e.cfg.RetryMax}
	for {
		err := e.handleBatch(ctx, batch, lease)
		if err == nil || errors.Is(err, ErrLeaseLost) || ctx.Err() != nil {
			return err
		}
		select {
		case <-lease.Lost():
			return ErrLeaseLost
		default:
		}
		e.log.Warn("saga: handling a batch failed; retrying", "from", batch[0].Position.String(), "events", len(batch), "error", err)
		// The wait ends early if the lease is lost meanwhile (the store's
		// connections died, as they do when the database drops them): the
		// engine then gives the subscription up at once instead of holding
		// on to it, and reporting itself owner, for up to RetryMax.
		if !backoff.Wait(ctx, pause.Next(), lease.Lost()) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return ErrLeaseLost
		}
	}
}
