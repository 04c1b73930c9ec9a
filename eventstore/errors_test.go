package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

type connectionLost struct{ retry bool }

func (e connectionLost) Error() string   { return "connection lost" }
func (e connectionLost) Retryable() bool { return e.retry }

func TestIsRetryable(t *testing.T) {
	id := eventstore.NewEventID()
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"Nil", nil, false},
		{"VersionConflict", &eventstore.ConflictError{Stream: "s", Expected: eventstore.Exact(1), Actual: 2}, true},
		{"WrappedConflict", fmt.Errorf("save order: %w", &eventstore.ConflictError{Stream: "s", Expected: eventstore.NoStream, Actual: 1}), true},
		{"EventIDConflict", &eventstore.ConflictError{Stream: "s", Expected: eventstore.Any, EventID: id}, false},
		{"TransientConflict", &eventstore.ConflictError{Stream: "s", Expected: eventstore.Any, EventID: id, Retry: true}, true},
		{"Sentinel", eventstore.ErrConcurrencyConflict, false},
		{"RetryableMethod", fmt.Errorf("read: %w", connectionLost{retry: true}), true},
		{"NotRetryableMethod", connectionLost{retry: false}, false},
		{"InvalidAppend", &eventstore.InvalidAppendError{Stream: "s", Index: -1, Err: eventstore.ErrEmptyAppend}, false},
		{"NotFound", &eventstore.StreamNotFoundError{Stream: "s"}, false},
		{"Cancelled", context.Canceled, false},
		{"OutcomeUnknown", &eventstore.OutcomeUnknownError{Stream: "s", Expected: eventstore.Any, Err: connectionLost{retry: true}}, false},
		{"Plain", errors.New("boom"), false},
	}
	for _, c := range cases {
		if got := eventstore.IsRetryable(c.err); got != c.want {
			t.Errorf("%s: IsRetryable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

func TestConflictError(t *testing.T) {
	version := &eventstore.ConflictError{Stream: "order-1", Expected: eventstore.Exact(2), Actual: 5}
	if !errors.Is(version, eventstore.ErrConcurrencyConflict) || errors.Is(version, eventstore.ErrDuplicateEventID) {
		t.Error("a version conflict matches the wrong sentinels")
	}
	for _, part := range []string{`"order-1"`, "exactly 2", "actual version 5"} {
		if !strings.Contains(version.Error(), part) {
			t.Errorf("%q does not mention %q", version.Error(), part)
		}
	}
	id := eventstore.NewEventID()
	dup := fmt.Errorf("wrapped: %w", &eventstore.ConflictError{Stream: "order-1", Expected: eventstore.Any, EventID: id, Reason: "stored elsewhere"})
	if !errors.Is(dup, eventstore.ErrConcurrencyConflict) || !errors.Is(dup, eventstore.ErrDuplicateEventID) {
		t.Error("an event ID conflict must match both sentinels")
	}
	if !strings.Contains(dup.Error(), id.String()) || !strings.Contains(dup.Error(), "stored elsewhere") {
		t.Errorf("%q does not name the event and the reason", dup.Error())
	}
}

func TestStreamNotFoundError(t *testing.T) {
	err := fmt.Errorf("load: %w", &eventstore.StreamNotFoundError{Stream: "order-9"})
	if !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Error("does not match ErrStreamNotFound")
	}
	nf, ok := errors.AsType[*eventstore.StreamNotFoundError](err)
	if !ok || nf.Stream != "order-9" || !strings.Contains(err.Error(), `"order-9"`) {
		t.Errorf("got %v", err)
	}
}

func TestOutcomeUnknownError(t *testing.T) {
	id := eventstore.NewEventID()
	err := fmt.Errorf("save: %w", &eventstore.OutcomeUnknownError{Stream: "order-1", Expected: eventstore.Exact(3),
		EventIDs: []uuid.UUID{id}, Err: context.DeadlineExceeded})
	if !eventstore.IsOutcomeUnknown(err) || !errors.Is(err, eventstore.ErrOutcomeUnknown) {
		t.Fatalf("IsOutcomeUnknown(%v) = false", err)
	}
	// Not a cancellation: code that reads a context error as "nothing was
	// written" must not read this one so.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Fatalf("%v matches a context error", err)
	}
	ou, ok := errors.AsType[*eventstore.OutcomeUnknownError](err)
	if !ok || ou.EventIDs[0] != id || ou.Err != context.DeadlineExceeded {
		t.Fatalf("errors.As: %#v", ou)
	}
	for _, part := range []string{`"order-1"`, "exactly 3", "outcome unknown", "same event IDs", "deadline exceeded"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%q does not mention %q", err, part)
		}
	}
	if eventstore.IsOutcomeUnknown(context.Canceled) || eventstore.IsOutcomeUnknown(nil) {
		t.Error("IsOutcomeUnknown of a cancellation or nil")
	}
}
