package saga

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
)

// Dispatch runs one round of the dispatcher: it claims due commands of this
// saga (in every process's outbox rows), sends them through the [Sender]
// with their deterministic IDs, and marks them sent. A failed send is
// retried later with exponential back-off and stays visible in
// [Store.FailingCommands]; it is never dropped. Dispatch returns how many
// commands it claimed.
func (e *Engine) Dispatch(ctx context.Context) (int, error) {
	name := e.Name()
	cmds, err := e.store.ClaimCommands(ctx, name, e.now(), e.cfg.ClaimLease, e.cfg.DispatchBatch)
	if err != nil || len(cmds) == 0 {
		return 0, err
	}
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.cfg.DispatchWorkers)
	for i := range cmds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = e.send(ctx, cmds[i])
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		// Shutting down: leave the claims to expire; the sends are resent
		// with the same IDs.
		return len(cmds), ctx.Err()
	}
	now := e.now()
	sent := make([]uuid.UUID, 0, len(cmds))
	for i, c := range cmds {
		if errs[i] == nil {
			sent = append(sent, c.ID)
			continue
		}
		retry := now.Add(e.backoff(c.Attempts))
		e.log.Warn("saga: send failed; will retry", "instance", c.Instance, "command", c.Type, "id", c.ID,
			"attempts", c.Attempts, "retry_at", retry, "error", errs[i])
		if err := e.store.MarkFailed(ctx, name, c.ID, errs[i].Error(), retry); err != nil {
			return len(cmds), err
		}
	}
	if len(sent) > 0 {
		if err := e.store.MarkSent(ctx, name, sent, now); err != nil {
			return len(cmds), err
		}
	}
	return len(cmds), nil
}

func (e *Engine) send(ctx context.Context, c Command) (err error) {
	reg := e.def.commands()
	if reg == nil {
		return fmt.Errorf("%w: %s: cannot decode command %s: Options.Commands is nil", ErrInvalidDefinition, c.Saga, c.Type)
	}
	payload, err := reg.Decode(eventstore.RecordedEvent{Event: eventstore.Event{ID: c.ID, Type: c.Type, Data: c.Data}})
	if err != nil {
		return fmt.Errorf("saga: decode command %s: %w", c.Type, err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("saga: sender panicked: %v", p)
		}
	}()
	return e.sender.Send(ctx, command.Command{ID: c.ID, CorrelationID: c.Instance, Payload: payload})
}

// backoff is the pause before the next try after attempts failures.
func (e *Engine) backoff(attempts int) time.Duration {
	d := e.cfg.RetryMin
	for i := 1; i < attempts && d < e.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, e.cfg.RetryMax)
}

func (e *Engine) dispatchLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.PollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		n, err := e.Dispatch(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Warn("saga: dispatch round failed", "error", err)
		}
		if n > 0 && err == nil {
			continue // more may be waiting, among them the next command of each instance just served
		}
		select {
		case <-e.wake:
		case <-t.C:
		case <-ctx.Done():
		}
	}
}
