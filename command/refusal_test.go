package command_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

func TestRefusal(t *testing.T) {
	if command.Refuse(nil) != nil {
		t.Fatal("Refuse(nil) is not nil")
	}
	err := command.Refuse(ErrLimit)
	if !command.IsRefused(err) || !errors.Is(err, command.ErrRefused) || !errors.Is(err, ErrLimit) {
		t.Fatalf("Refuse(ErrLimit) = %v: not a refusal matching ErrLimit", err)
	}
	if err.Error() != ErrLimit.Error() {
		t.Fatalf("Refuse changed the message: %q, want %q", err, ErrLimit)
	}
	if again := command.Refuse(fmt.Errorf("wrapped: %w", err)); strings.Count(again.Error(), "wrapped") != 1 {
		t.Fatalf("Refuse of a refusal wraps it again: %v", again)
	}
	if f := command.Refusef("account %s is frozen: %w", "a-1", ErrLimit); !command.IsRefused(f) || !errors.Is(f, ErrLimit) ||
		f.Error() != "account a-1 is frozen: "+ErrLimit.Error() {
		t.Fatalf("Refusef = %v", f)
	}
	var refused *command.RefusedError
	if !errors.As(fmt.Errorf("handler: %w", err), &refused) || refused.Err != ErrLimit {
		t.Fatalf("errors.As found %+v", refused)
	}
	if command.IsRefused(errors.New("connection reset")) || command.IsRefused(nil) {
		t.Fatal("a plain error is a refusal")
	}
	if !command.IsRefused(&command.ValidationError{Err: errors.New("bad")}) {
		t.Fatal("a validation error is not a refusal")
	}
}

// A refusal travels through the default middleware (idempotency, conflict
// retry) unchanged, is logged at Info level, and a transient failure at
// Warn.
func TestRefusalThroughTheBus(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store := memory.New(memory.Config{})
	bus := newBus(t, command.Config{Middleware: command.DefaultMiddleware(logger)})
	tallyHandlers(bus, newTallies(store, nil, 0))
	command.MustHandleFunc(bus, func(context.Context, Broken) error { return errors.New("disk on fire") })
	ctx := context.Background()
	if _, err := bus.Send(ctx, command.New(SetLimit{TallyID: "t", Limit: 1})); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Send(ctx, command.New(Count{TallyID: "t", N: 2})); !command.IsRefused(err) || !errors.Is(err, ErrLimit) {
		t.Fatalf("over the limit: %v, want a refusal matching ErrLimit", err)
	}
	if _, err := bus.Send(ctx, command.New(Broken{})); err == nil || command.IsRefused(err) {
		t.Fatalf("broken handler: %v, want a failure that is not a refusal", err)
	}
	out := buf.String()
	for _, want := range []string{
		`level=INFO msg="command refused" command=command_test.Count`,
		`level=WARN msg="command failed" command=command_test.Broken`,
		"disk on fire",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `level=WARN msg="command failed" command=command_test.Count`) {
		t.Errorf("a refusal was logged as a failure:\n%s", out)
	}
}

// Broken is a command whose handler always fails.
type Broken struct{}
