package saga

import (
	"context"
	"errors"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
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
				sleep(ctx, e.cfg.PollInterval)
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
		sleep(ctx, e.cfg.PollInterval)
	}
}

type delivery struct {
	ev  eventstore.RecordedEvent
	err error
}

// subscribe handles the log under lease until an error, the loss of the
// lease or the end of ctx.
func (e *Engine) subscribe(ctx context.Context, lease Lease) error {
	from, err := e.store.Checkpoint(ctx, e.Name())
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan delivery, e.cfg.BatchSize)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		opts := eventstore.SubscribeOptions{From: from, Filter: eventstore.Filter{EventTypes: e.def.eventTypes()}}
		for ev, err := range e.events.Subscribe(sctx, opts) {
			select {
			case ch <- delivery{ev, err}:
			case <-sctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() { cancel(); <-done }()
	batch := make([]eventstore.RecordedEvent, 0, e.cfg.BatchSize)
	for {
		batch = batch[:0]
		select {
		case d, ok := <-ch:
			if !ok {
				return errors.New("saga: subscription ended")
			}
			if d.err != nil {
				return d.err
			}
			batch = append(batch, d.ev)
		case <-lease.Lost():
			return ErrFenced
		case <-ctx.Done():
			return ctx.Err()
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case d, ok := <-ch:
				if !ok || d.err != nil {
					break drain // handle what we have; the next receive reports it
				}
				batch = append(batch, d.ev)
			default:
				break drain
			}
		}
		if err := e.commitBatch(ctx, batch, lease); err != nil {
			return err
		}
	}
}

// commitBatch handles a batch, retrying with back-off on store errors: the
// batch is never dropped. Losing the lease ends it, during a back-off too.
func (e *Engine) commitBatch(ctx context.Context, batch []eventstore.RecordedEvent, lease Lease) error {
	backoff := e.cfg.RetryMin
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
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-lease.Lost():
			t.Stop()
			return ErrFenced
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		backoff = min(2*backoff, e.cfg.RetryMax)
	}
}
