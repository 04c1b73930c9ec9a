package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Defaults of [RetryConfig]: a zero field takes its default.
const (
	DefaultMaxAttempts = 10
	DefaultBaseDelay   = 2 * time.Millisecond
	DefaultMaxDelay    = 250 * time.Millisecond // or BaseDelay, if that is longer
)

// RetryConfig configures [RetryConflicts]. The zero value works.
type RetryConfig struct {
	// MaxAttempts bounds the runs of the handler, the first included
	// (default [DefaultMaxAttempts]).
	MaxAttempts int
	// BaseDelay is the back-off before the second attempt; it doubles per
	// attempt up to MaxDelay (defaults [DefaultBaseDelay] and
	// [DefaultMaxDelay]). Each wait is drawn
	// uniformly from (0, delay] ("full jitter"), so contending writers
	// spread out instead of colliding again.
	BaseDelay, MaxDelay time.Duration
}

// Validate reports every problem with c at once.
func (c RetryConfig) Validate() error {
	var errs []error
	if c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("command: RetryConfig.MaxAttempts is %d", c.MaxAttempts))
	}
	if c.BaseDelay < 0 || c.MaxDelay < 0 {
		errs = append(errs, errors.New("command: RetryConfig delays must not be negative"))
	}
	if c.BaseDelay > 0 && c.MaxDelay > 0 && c.MaxDelay < c.BaseDelay {
		errs = append(errs, errors.New("command: RetryConfig.MaxDelay is below BaseDelay"))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c RetryConfig) withDefaults() RetryConfig {
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.BaseDelay = cmp.Or(c.BaseDelay, DefaultBaseDelay)
	c.MaxDelay = cmp.Or(c.MaxDelay, max(DefaultMaxDelay, c.BaseDelay))
	return c
}

// RetryConflicts runs the handler again when it fails with an optimistic
// concurrency conflict ([eventstore.ErrConcurrencyConflict] that
// [eventstore.IsRetryable] accepts): the handler reloads the aggregate, so
// it decides again on the state that won. Any other error, and a conflict on
// an event ID (which would conflict again), is returned at once. Between
// attempts it waits a jittered, growing delay, and it gives up after
// MaxAttempts with the last conflict. If cfg does not [RetryConfig.Validate],
// registering a handler on a bus with this middleware fails with the
// problems (and a handler wrapped by hand fails every command with them).
//
// An append whose outcome the store could not tell
// ([eventstore.IsOutcomeUnknown]) is run again too, but only when the
// command's event IDs are derived from its ID ([Idempotent] seeded the
// unit): the second run then finds the first one's events, or stores the
// same events, never new ones. Otherwise, or once the context has ended,
// the error is returned as it is (not as a cancellation): send the command
// again with the same ID, through a bus with [Idempotent].
func RetryConflicts(cfg RetryConfig) Middleware {
	if err := cfg.Validate(); err != nil {
		return func(Handler) Handler { return misconfigured{err} }
	}
	cfg = cfg.withDefaults()
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, cmd Command) error {
			ctx, unit := ensureUnit(ctx)
			pause := backoff.Backoff{Min: cfg.BaseDelay, Max: cfg.MaxDelay, Jitter: backoff.Full}
			for attempt := 1; ; attempt++ {
				err := next.Handle(ctx, cmd)
				// An unknown outcome is safe to run again only with the same
				// event IDs: derived from the command's ID.
				unknown := eventstore.IsOutcomeUnknown(err) && unit.Seed != uuid.Nil
				if err == nil || (!retryable(err) && !unknown) {
					return err
				}
				if attempt >= cfg.MaxAttempts {
					return fmt.Errorf("command: %s: gave up after %d attempts: %w", cmd, attempt, err)
				}
				if span := trace.SpanFromContext(ctx); span.IsRecording() {
					span.AddEvent("retry", trace.WithAttributes(telemetry.KeyCommandAttempts.Int(attempt+1),
						telemetry.KeyConflictKind.String(telemetry.ConflictKind(err))))
					span.SetAttributes(telemetry.KeyCommandAttempts.Int(attempt + 1))
				}
				if !backoff.Sleep(ctx, pause.Next()) {
					if eventstore.IsOutcomeUnknown(err) {
						return err // not a cancellation: the events may be stored
					}
					return errors.Join(ctx.Err(), err)
				}
				unit.Reset()
			}
		})
	}
}

func retryable(err error) bool {
	return errors.Is(err, eventstore.ErrConcurrencyConflict) && eventstore.IsRetryable(err)
}
