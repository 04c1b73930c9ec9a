package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// RetryConfig configures [RetryConflicts]. The zero value works.
type RetryConfig struct {
	// MaxAttempts bounds the runs of the handler, the first included
	// (default 10).
	MaxAttempts int
	// BaseDelay is the back-off before the second attempt; it doubles per
	// attempt up to MaxDelay (defaults 2ms and 250ms). Each wait is drawn
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

// RetryConflicts runs the handler again when it fails with an optimistic
// concurrency conflict ([eventstore.ErrConcurrencyConflict] that
// [eventstore.IsRetryable] accepts): the handler reloads the aggregate, so
// it decides again on the state that won. Any other error, and a conflict on
// an event ID (which would conflict again), is returned at once. Between
// attempts it waits a jittered, growing delay, and it gives up after
// MaxAttempts with the last conflict. It panics if cfg does not
// [RetryConfig.Validate].
func RetryConflicts(cfg RetryConfig) Middleware {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = 2 * time.Millisecond
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = max(250*time.Millisecond, cfg.BaseDelay)
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, cmd Command) error {
			ctx, scope := ensureScope(ctx)
			pause := backoff.Backoff{Min: cfg.BaseDelay, Max: cfg.MaxDelay, Jitter: backoff.Full}
			for attempt := 1; ; attempt++ {
				err := next.Handle(ctx, cmd)
				if err == nil || !retryable(err) {
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
					return errors.Join(ctx.Err(), err)
				}
				scope.Reset()
			}
		})
	}
}

func retryable(err error) bool {
	return errors.Is(err, eventstore.ErrConcurrencyConflict) && eventstore.IsRetryable(err)
}
