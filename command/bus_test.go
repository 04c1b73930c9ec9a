package command_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

type Ping struct{ N int }
type Pong struct{}

func TestRegistration(t *testing.T) {
	bus := newBus(t, command.Config{})
	var got []int
	if err := command.HandleFunc(bus, func(ctx context.Context, p Ping) error {
		got = append(got, p.N)
		if c, ok := command.FromContext(ctx); !ok || c.ID == uuid.Nil {
			t.Errorf("FromContext = %+v, %v", c, ok)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err := command.HandleFunc(bus, func(context.Context, Ping) error { return nil })
	if !errors.Is(err, command.ErrDuplicateHandler) {
		t.Fatalf("second handler: %v, want ErrDuplicateHandler", err)
	}
	if err := command.Handle[*Pong](bus, command.HandlerFunc(func(context.Context, command.Command) error { return nil })); err == nil {
		t.Fatal("registering a pointer type succeeded")
	}
	if err := command.Handle[error](bus, command.HandlerFunc(func(context.Context, command.Command) error { return nil })); err == nil {
		t.Fatal("registering an interface type succeeded")
	}
	ctx := context.Background()
	if _, err := bus.Send(ctx, command.New(Ping{N: 1})); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Send(ctx, command.Command{Payload: &Ping{N: 2}}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("handled %v", got)
	}
	if _, err := bus.Send(ctx, command.New(Pong{})); !errors.Is(err, command.ErrNoHandler) {
		t.Fatalf("Send(Pong) = %v, want ErrNoHandler", err)
	}
	if _, err := bus.Send(ctx, command.Command{}); !errors.Is(err, command.ErrNoHandler) {
		t.Fatalf("Send(nil payload) = %v, want ErrNoHandler", err)
	}
	if _, err := bus.Send(ctx, command.Command{Payload: (*Ping)(nil)}); err == nil {
		t.Fatal("Send(nil *Ping) succeeded")
	}
	if !bus.Handles(Ping{}) || !bus.Handles(&Ping{}) || bus.Handles(Pong{}) {
		t.Fatal("Handles is wrong")
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := command.Config{Middleware: []command.Middleware{nil, command.Metadata(), nil}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "Middleware[0]") || !strings.Contains(err.Error(), "Middleware[2]") {
		t.Fatalf("Validate = %v", err)
	}
	bus, err := command.NewBus(cfg)
	if bus != nil || err == nil || !strings.Contains(err.Error(), "Middleware[0]") || !strings.Contains(err.Error(), "Middleware[2]") {
		t.Fatalf("NewBus with nil middleware = %v, %v; want every problem", bus, err)
	}
}

// TestMisconfiguredMiddleware: a RetryConflicts whose config does not
// validate does not panic; registering a handler behind it fails, and a
// handler chained by hand fails every command, with the problems.
func TestMisconfiguredMiddleware(t *testing.T) {
	bad := command.RetryConflicts(command.RetryConfig{MaxAttempts: -1, BaseDelay: -time.Second})
	bus := newBus(t, command.Config{Middleware: []command.Middleware{command.Metadata(), bad}})
	err := command.HandleFunc(bus, func(context.Context, Ping) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "MaxAttempts") || !strings.Contains(err.Error(), "negative") ||
		!strings.Contains(err.Error(), "Middleware[1]") {
		t.Fatalf("HandleFunc behind a misconfigured RetryConflicts = %v", err)
	}
	if bus.Handles(Ping{}) {
		t.Fatal("the handler was registered")
	}
	h := command.Chain(command.HandlerFunc(func(context.Context, command.Command) error { return nil }), bad)
	if err := h.Handle(context.Background(), command.New(Ping{})); err == nil || !strings.Contains(err.Error(), "MaxAttempts") {
		t.Fatalf("a handler chained by hand behind it = %v", err)
	}
}

// newBus is command.NewBus for a config that must be valid.
func newBus(t testing.TB, cfg command.Config) *command.Bus {
	t.Helper()
	bus, err := command.NewBus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return bus
}

func TestMiddlewareOrder(t *testing.T) {
	var trace []string
	mw := func(name string) command.Middleware {
		return func(next command.Handler) command.Handler {
			return command.HandlerFunc(func(ctx context.Context, c command.Command) error {
				trace = append(trace, name+">")
				err := next.Handle(ctx, c)
				trace = append(trace, "<"+name)
				return err
			})
		}
	}
	bus := newBus(t, command.Config{Middleware: []command.Middleware{mw("a"), mw("b")}})
	command.MustHandleFunc(bus, func(context.Context, Ping) error { trace = append(trace, "h"); return nil })
	if _, err := bus.Send(context.Background(), command.New(Ping{})); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(trace, " "); got != "a> b> h <b <a" {
		t.Fatalf("trace %q", got)
	}
}

func TestValidate(t *testing.T) {
	store := memory.New(memory.Config{})
	bus := newBus(t, command.Config{Middleware: []command.Middleware{
		command.Validate(func(_ context.Context, c command.Command) error {
			if c.CorrelationID == "forbidden" {
				return errors.New("forbidden correlation")
			}
			return nil
		}),
	}})
	tallyHandlers(bus, newTallies(store, nil, 0))
	ctx := context.Background()
	_, err := bus.Send(ctx, command.New(Count{N: 1}))
	if !errors.Is(err, command.ErrInvalidCommand) || !strings.Contains(err.Error(), "TallyID is empty") {
		t.Fatalf("Send = %v, want a validation error", err)
	}
	if _, ok := errors.AsType[*command.ValidationError](err); !ok {
		t.Fatalf("%T is not a *ValidationError", err)
	}
	_, err = bus.Send(ctx, command.Command{CorrelationID: "forbidden", Payload: Count{TallyID: "t", N: 1}})
	if !errors.Is(err, command.ErrInvalidCommand) {
		t.Fatalf("Send = %v, want a validation error", err)
	}
	if store.Len() != 0 {
		t.Fatalf("invalid commands appended %d events", store.Len())
	}
	if _, err := bus.Send(ctx, command.New(Count{TallyID: "t", N: 1})); err != nil {
		t.Fatal(err)
	}
}

func TestMetadataFlowsIntoEvents(t *testing.T) {
	store := memory.New(memory.Config{})
	bus := newBus(t, command.Config{Middleware: []command.Middleware{command.Metadata()}})
	tallyHandlers(bus, newTallies(store, nil, 0))
	ctx := context.Background()
	first := command.New(Count{TallyID: "t", N: 1})
	if _, err := bus.Send(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := command.Command{ID: uuid.New(), CorrelationID: "order-7", Payload: Count{TallyID: "t", N: 1}}
	if _, err := bus.Send(ctx, second); err != nil {
		t.Fatal(err)
	}
	var mds []eventstore.Metadata
	for e, err := range store.ReadStream(ctx, "tally-t", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		mds = append(mds, e.Metadata)
	}
	if mds[0].CausationID != first.ID.String() || mds[0].CorrelationID != first.ID.String() {
		t.Fatalf("first event metadata %+v, want causation and correlation %s", mds[0], first.ID)
	}
	if mds[1].CausationID != second.ID.String() || mds[1].CorrelationID != "order-7" {
		t.Fatalf("second event metadata %+v", mds[1])
	}
}

func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store := memory.New(memory.Config{})
	bus := newBus(t, command.Config{Middleware: command.DefaultMiddleware(logger)})
	tallyHandlers(bus, newTallies(store, nil, 0))
	ctx := context.Background()
	cmd := command.New(Count{TallyID: "t", N: 1})
	if _, err := bus.Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Send(ctx, command.New(Count{})); err == nil {
		t.Fatal("invalid command accepted")
	}
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="command handled" command=command_test.Count command_id=` + cmd.ID.String(),
		"events=1 replayed=false",
		`level=INFO msg="command refused" command=command_test.Count`, // validation: an outcome, not a fault
		"TallyID is empty",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestDeriveID(t *testing.T) {
	a := command.DeriveID("saga-1", "reserve")
	if a != command.DeriveID("saga-1", "reserve") || a.Version() != 5 {
		t.Fatalf("DeriveID is not a stable v5 UUID: %s", a)
	}
	if a == command.DeriveID("saga-1", "charge") || command.DeriveID("a", "bc") == command.DeriveID("ab", "c") {
		t.Fatal("DeriveID collides")
	}
}

var _ aggregate.Aggregate = (*Tally)(nil)
