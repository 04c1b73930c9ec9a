package command_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

func TestRetryConflictsIsBounded(t *testing.T) {
	var runs atomic.Int32
	conflict := &eventstore.ConflictError{Stream: "s", Expected: eventstore.Exact(1), Actual: 2}
	bus := newBus(t, command.Config{Middleware: []command.Middleware{
		command.RetryConflicts(command.RetryConfig{MaxAttempts: 4, BaseDelay: time.Microsecond, MaxDelay: time.Millisecond}),
	}})
	command.MustHandleFunc(bus, func(context.Context, Ping) error {
		runs.Add(1)
		return conflict
	})
	_, err := bus.Send(context.Background(), command.New(Ping{}))
	if !errors.Is(err, eventstore.ErrConcurrencyConflict) || runs.Load() != 4 {
		t.Fatalf("after %d runs: %v; want 4 runs and the conflict", runs.Load(), err)
	}
}

func TestRetryConflictsRetriesOnlyVersionConflicts(t *testing.T) {
	for name, c := range map[string]struct {
		err  error
		runs int32
	}{
		"domain error":           {errors.New("no"), 1},
		"event ID conflict":      {&eventstore.ConflictError{Stream: "s", EventID: uuid.New()}, 1},
		"retryable non-conflict": {retryableErr{}, 1},
		"transient conflict":     {&eventstore.ConflictError{Stream: "s", EventID: uuid.New(), Retry: true}, 3},
		"version conflict":       {&eventstore.ConflictError{Stream: "s"}, 3},
	} {
		t.Run(name, func(t *testing.T) {
			var runs atomic.Int32
			bus := newBus(t, command.Config{Middleware: []command.Middleware{
				command.RetryConflicts(command.RetryConfig{MaxAttempts: 3, BaseDelay: time.Microsecond}),
			}})
			command.MustHandleFunc(bus, func(context.Context, Ping) error {
				runs.Add(1)
				return c.err
			})
			if _, err := bus.Send(context.Background(), command.New(Ping{})); !errors.Is(err, c.err) {
				t.Fatalf("Send = %v, want %v", err, c.err)
			}
			if runs.Load() != c.runs {
				t.Fatalf("%d runs, want %d", runs.Load(), c.runs)
			}
		})
	}
}

type retryableErr struct{}

func (retryableErr) Error() string   { return "connection reset" }
func (retryableErr) Retryable() bool { return true }

func TestRetryConflictsStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	bus := newBus(t, command.Config{Middleware: []command.Middleware{
		command.RetryConflicts(command.RetryConfig{MaxAttempts: 1000, BaseDelay: time.Hour, MaxDelay: time.Hour}),
	}})
	command.MustHandleFunc(bus, func(context.Context, Ping) error {
		cancel()
		return &eventstore.ConflictError{Stream: "s"}
	})
	_, err := bus.Send(ctx, command.New(Ping{}))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, eventstore.ErrConcurrencyConflict) {
		t.Fatalf("Send = %v", err)
	}
}

func TestRetryConfigValidate(t *testing.T) {
	bad := command.RetryConfig{MaxAttempts: -1, BaseDelay: time.Second, MaxDelay: time.Millisecond}
	if err := bad.Validate(); err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	if err := (command.RetryConfig{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// A handler whose save succeeded but whose caller saw a transient failure
// (the reply was lost) is retried; the retry finds the command's events and
// replays the result instead of appending again.
func TestRetryAfterALostReplyAppendsNothing(t *testing.T) {
	store := memory.New(memory.Config{})
	repo := newTallies(store, nil, 0)
	bus := newBus(t, command.Config{Middleware: []command.Middleware{
		command.Metadata(), command.Idempotent(),
		command.RetryConflicts(command.RetryConfig{BaseDelay: time.Microsecond}),
	}})
	var runs atomic.Int32
	command.MustHandleFunc(bus, func(ctx context.Context, c Count) error {
		runs.Add(1)
		t, err := repo.LoadOrNew(ctx, c.TallyID)
		if err != nil {
			return err
		}
		_ = t.Add(c.N)
		if _, err := repo.Save(ctx, t); err != nil {
			return err
		}
		if runs.Load() == 1 {
			return &eventstore.ConflictError{Stream: "tally-" + c.TallyID, Retry: true, Reason: "reply lost"}
		}
		return nil
	})
	res, err := bus.Send(context.Background(), command.New(Count{TallyID: "t", N: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 2 || !res.Replayed || len(res.Appended) != 1 || res.Appended[0].To != 1 || store.Len() != 1 {
		t.Fatalf("runs %d, result %+v, %d events", runs.Load(), res, store.Len())
	}
}

// Idempotent works outside a bus too (it opens its own unit).
func TestIdempotentWithoutBus(t *testing.T) {
	store := memory.New(memory.Config{})
	repo := newTallies(store, nil, 0)
	h := command.Chain(command.HandlerFunc(func(ctx context.Context, c command.Command) error {
		t, err := repo.LoadOrNew(ctx, "x")
		if err != nil {
			return err
		}
		_ = t.Add(1)
		_, err = repo.Save(ctx, t)
		return err
	}), command.Metadata(), command.Idempotent())
	cmd := command.New(Count{TallyID: "x", N: 1})
	for range 3 {
		if err := h.Handle(context.Background(), cmd); err != nil {
			t.Fatal(err)
		}
	}
	if store.Len() != 1 {
		t.Fatalf("%d events, want 1", store.Len())
	}
}
