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
// lease or the end of ctx. It reads through the batching reader all
// subscribers share ([batch.Subscribe]), bound to a context that also ends
// when the lease is lost; a batch's commit runs on ctx itself, so the loss
// of the lease never cuts a commit off half-way (the commit's fence refuses
// it instead).
func (e *Engine) subscribe(ctx context.Context, lease Lease) error {
	from, err := e.store.Checkpoint(ctx, e.Name())
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-lease.Lost():
			cancel(ErrFenced)
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
		return ErrFenced
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
		if err == nil || errors.Is(err, ErrFenced) || ctx.Err() != nil {
			return err
		}
		select {
		case <-lease.Lost():
			return ErrFenced
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
			return ErrFenced
		}
	}
}
