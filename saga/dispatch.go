package saga

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
)

// Dispatch runs one round of the dispatcher: it reserves due commands of this
// saga (in every process's outbox rows), sends them through the [Sender]
// with their deterministic IDs, and marks them sent. A failed send is
// retried later with exponential back-off and stays visible in
// [Inspector.FailingCommands]; it is never dropped. A send whose outcome is
// unknown ([eventstore.IsOutcomeUnknown]: the command's events may be
// stored) is sent again after RetryMin, whatever the back-off: the same ID
// makes the second send count once. Dispatch returns how many
// commands it reserved.
func (e *Engine) Dispatch(ctx context.Context) (int, error) {
	name := e.Name()
	cmds, err := e.store.ReserveCommands(ctx, name, e.now(), e.cfg.ReserveFor, e.cfg.DispatchBatch)
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
		// Shutting down: leave the reservations to expire; the sends are resent
		// with the same IDs.
		return len(cmds), ctx.Err()
	}
	results := make([]sendResult, len(cmds))
	for i, c := range cmds {
		results[i] = sendResult{c, errs[i]}
	}
	return len(cmds), e.settle(ctx, results)
}

type sendResult struct {
	cmd Command
	err error
}

// settle records the outcome of sends: the delivered ones as sent (one
// round trip), the refused ones as refused, failing their sagas (see
// [Engine.refuse]), the failed ones with their error and their next try.
func (e *Engine) settle(ctx context.Context, results []sendResult) error {
	now := e.now()
	sent := make([]uuid.UUID, 0, len(results))
	for _, r := range results {
		c := r.cmd
		if r.err == nil {
			sent = append(sent, c.ID)
			continue
		}
		if command.IsRefused(r.err) && !c.Compensation {
			err := e.refuse(ctx, c, r.err)
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return err
			}
			// Not recorded: the command is sent again later and, refused
			// again, settled then.
			e.log.Warn("saga: recording a refused command failed; it is sent again later", "instance", c.Instance,
				"command", c.Type, "id", c.ID, "error", err)
		}
		retry := now.Add(e.backoff(c.Attempts))
		msg := "saga: send failed; will retry"
		if eventstore.IsOutcomeUnknown(r.err) {
			// The command may have been applied: only a send with the same
			// ID can tell, and the Sender's idempotency makes it count once.
			// Not a failure of the receiver: send it again soon.
			retry, msg = now.Add(e.cfg.RetryMin), "saga: send's outcome unknown; sending it again with the same ID"
		}
		e.log.Warn(msg, "instance", c.Instance, "command", c.Type, "id", c.ID,
			"attempts", c.Attempts, "retry_at", retry, "error", r.err)
		if err := e.store.MarkFailed(ctx, e.Name(), c.ID, r.err.Error(), retry); err != nil {
			return err
		}
	}
	if len(sent) > 0 {
		return e.store.MarkSent(ctx, e.Name(), sent, now)
	}
	return nil
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
	ctx, span := e.tel.startSend(ctx, c)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("saga: sender panicked: %v", p)
		}
		e.tel.endSend(ctx, span, c, command.IsRefused(err), err)
	}()
	return e.sender.Send(ctx, command.Command{ID: c.ID, CorrelationID: c.Instance, Payload: payload})
}

// backoff is the pause before the next try after attempts failures.
func (e *Engine) backoff(attempts int) time.Duration {
	return backoff.Equal.Delay(e.cfg.RetryMin, e.cfg.RetryMax, attempts)
}

// dispatchLoop is the dispatcher of [Engine.Run]: a pipeline rather than
// rounds. The loop reserves commands whenever at most half of DispatchBatch
// are in flight; DispatchWorkers goroutines send them; a settler records
// the results as they come, in batches. Reserving, sending and recording
// overlap, and no send waits for the slowest of a round.
func (e *Engine) dispatchLoop(ctx context.Context) {
	jobs := make(chan Command, e.cfg.DispatchBatch)
	results := make(chan sendResult, e.cfg.DispatchBatch)
	freed := make(chan struct{}, 1)
	var inflight atomic.Int64
	var workers, settler sync.WaitGroup
	for range e.cfg.DispatchWorkers {
		workers.Go(func() {
			for c := range jobs {
				results <- sendResult{c, e.send(ctx, c)}
			}
		})
	}
	settler.Go(func() {
		for r := range results {
			batch := []sendResult{r}
		drain:
			for {
				select {
				case r, ok := <-results:
					if !ok {
						// Closed at shutdown: a receive would succeed
						// forever, with zero values.
						break drain
					}
					batch = append(batch, r)
				default:
					break drain
				}
			}
			if ctx.Err() != nil {
				continue // shutting down: the reservations expire, the commands are sent again
			}
			if err := e.settle(ctx, batch); err != nil && ctx.Err() == nil {
				// The sends happened; their reservations expire and they are sent
				// again, with the same IDs.
				e.log.Warn("saga: recording sends failed", "error", err)
			}
			inflight.Add(-int64(len(batch)))
			select {
			case freed <- struct{}{}:
			default:
			}
		}
	})
	defer func() {
		close(jobs)
		workers.Wait()
		close(results)
		settler.Wait()
	}()
	t := time.NewTicker(e.cfg.PollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		if n := int(inflight.Load()); n <= e.cfg.DispatchBatch/2 {
			cmds, err := e.store.ReserveCommands(ctx, e.Name(), e.now(), e.cfg.ReserveFor, e.cfg.DispatchBatch-n)
			if err != nil && ctx.Err() == nil {
				e.log.Warn("saga: reserving commands failed", "error", err)
			}
			inflight.Add(int64(len(cmds)))
			for _, c := range cmds {
				jobs <- c // never blocks: at most DispatchBatch are in flight
			}
			if len(cmds) > 0 {
				continue // more may be due
			}
		}
		select {
		case <-freed:
		case <-e.wake:
		case <-t.C:
		case <-ctx.Done():
		}
	}
}
