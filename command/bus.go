package command

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Config configures a [Bus]. The zero value works: a bus without
// middleware.
type Config struct {
	// Middleware wraps every handler, the first outermost. See
	// [DefaultMiddleware] for the recommended stack.
	Middleware []Middleware
	// TracerProvider and MeterProvider receive a span per command and the
	// commands' durations (see docs/observability.md); nil means the
	// global providers, which do nothing until the application installs
	// an OpenTelemetry SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	for i, m := range c.Middleware {
		if m == nil {
			errs = append(errs, fmt.Errorf("command: Config.Middleware[%d] is nil", i))
		}
	}
	return errors.Join(errs...)
}

// Result is what sending a command produced.
type Result struct {
	// Appended lists the saves the handler made, one per stream and save, in
	// order.
	Appended []aggregate.Appended
	// Replayed is set when the command had already been applied (same
	// command ID, with [Idempotent]): nothing new was appended, and Appended
	// is what the command appended the first time. A duplicate sent
	// concurrently with the original, which the store's idempotent append
	// absorbs, gets the same Appended but may report Replayed false: the
	// store does not say whether it wrote.
	Replayed bool
}

// Bus routes each command, by the Go type of its payload, to the one handler
// registered for that type. Register handlers at start-up, then send from
// any number of goroutines: a Bus is safe for concurrent use.
type Bus struct {
	middleware []Middleware
	tracer     telemetry.Tracer
	duration   metric.Float64Histogram

	mu       sync.RWMutex
	handlers map[reflect.Type]route
}

// route is a registered handler, wrapped in the middleware, with the name
// of its commands' spans.
type route struct {
	h    Handler
	typ  string
	span string
}

// NewBus returns a bus with no handlers, or every problem
// [Config.Validate] finds in cfg.
func NewBus(cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := telemetry.NewInstruments(telemetry.Meter(cfg.MeterProvider, "command"))
	return &Bus{middleware: cfg.Middleware, handlers: make(map[reflect.Type]route),
		tracer:   telemetry.NewTracer(cfg.TracerProvider, "command"),
		duration: b.Seconds("chronicle.command.duration", "How long commands take to handle, by command type and outcome (ok, conflict, refused, error).")}, nil
}

// HandleFunc registers the function h for commands whose payload is a C (or
// a *C); h receives the payload, typed. It fails with [ErrDuplicateHandler]
// if C already has a handler, so a wiring mistake surfaces at start-up. The
// envelope (ID, correlation ID) is available to h through [FromContext].
// As in net/http, [Handle] takes a [Handler], HandleFunc a function.
func HandleFunc[C any](b *Bus, h func(ctx context.Context, cmd C) error) error {
	if h == nil {
		return fmt.Errorf("command: nil handler for %v", reflect.TypeFor[C]())
	}
	return Handle[C](b, HandlerFunc(func(ctx context.Context, cmd Command) error {
		switch p := cmd.Payload.(type) {
		case C:
			return h(ctx, p)
		case *C:
			if p == nil {
				return fmt.Errorf("command: %s: nil payload", cmd)
			}
			return h(ctx, *p)
		}
		return fmt.Errorf("command: %s routed to the handler of %v", cmd, reflect.TypeFor[C]())
	}))
}

// MustHandleFunc is [HandleFunc] that panics on error, for start-up code.
func MustHandleFunc[C any](b *Bus, h func(ctx context.Context, cmd C) error) {
	if err := HandleFunc(b, h); err != nil {
		panic(err)
	}
}

// Handle registers a [Handler], which receives the whole [Command], for
// payloads of type C (or *C). It fails with [ErrDuplicateHandler] if C
// already has a handler, and with the configuration error of a middleware
// built from a configuration that does not validate (see [RetryConflicts]).
func Handle[C any](b *Bus, h Handler) error {
	t := reflect.TypeFor[C]()
	switch t.Kind() {
	case reflect.Pointer:
		return fmt.Errorf("command: register %v: register the value type; pointers to it are routed to it", t)
	case reflect.Interface:
		return fmt.Errorf("command: register %v: commands are routed by their concrete type, not an interface", t)
	}
	if h == nil {
		return fmt.Errorf("command: nil handler for %v", t)
	}
	for i := len(b.middleware) - 1; i >= 0; i-- {
		h = b.middleware[i](h)
		if bad, ok := h.(misconfigured); ok {
			return fmt.Errorf("command: register %v: Config.Middleware[%d]: %w", t, i, bad.err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.handlers[t]; dup {
		return fmt.Errorf("%w for %v", ErrDuplicateHandler, t)
	}
	b.handlers[t] = route{h: h, typ: t.String(), span: "command " + t.String()}
	return nil
}

// Send hands cmd to its handler, through the bus's middleware, and returns
// what the handler appended. A command without an ID gets a new UUID v7. A
// payload without a handler is an error matching [ErrNoHandler].
//
// Send opens a fresh [aggregate.Unit] for the command, whatever ctx
// carries, so commands sent from inside a handler are handled on their own.
func (b *Bus) Send(ctx context.Context, cmd Command) (Result, error) {
	t := reflect.TypeOf(cmd.Payload)
	if t == nil {
		return Result{}, fmt.Errorf("%w: nil payload", ErrNoHandler)
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	b.mu.RLock()
	r, ok := b.handlers[t]
	b.mu.RUnlock()
	if !ok {
		return Result{}, fmt.Errorf("%w for %v", ErrNoHandler, t)
	}
	if cmd.ID == uuid.Nil {
		cmd.ID = eventstore.NewEventID()
	}
	ctx, span := b.tracer.Start(ctx, r.span, trace.SpanKindInternal)
	recording := span.IsRecording()
	if recording {
		span.SetAttributes(telemetry.KeyCommandType.String(r.typ), telemetry.KeyCommandID.String(cmd.ID.String()),
			telemetry.KeyCommandAttempts.Int(1))
		if cmd.CorrelationID != "" {
			span.SetAttributes(telemetry.KeyCorrelationID.String(cmd.CorrelationID))
		}
	}
	var start time.Time
	measure := b.duration.Enabled(ctx)
	if measure {
		start = time.Now()
	}
	unit := &aggregate.Unit{}
	ctx = aggregate.WithUnit(ctx, unit)
	ctx = context.WithValue(ctx, commandKey{}, cmd)
	err := r.h.Handle(ctx, cmd)
	var res Result
	if err == nil {
		res = Result{Appended: unit.Appended(), Replayed: unit.Replayed()}
	}
	if recording || measure {
		outcome := telemetry.Outcome(err)
		if IsRefused(err) {
			outcome = telemetry.OutcomeRefused
		}
		if recording {
			span.SetAttributes(telemetry.KeyOutcome.String(outcome))
			if len(res.Appended) > 0 {
				span.SetAttributes(telemetry.KeyStream.String(res.Appended[0].Stream))
			}
			if res.Replayed {
				span.SetAttributes(attribute.Bool("chronicle.command.replayed", true))
			}
			if outcome == telemetry.OutcomeRefused {
				// A refusal is the handler's answer, not a failure: the
				// span keeps an unset status and says why.
				span.SetAttributes(attribute.String("chronicle.command.refusal", err.Error()))
			}
		}
		if measure {
			b.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(
				telemetry.KeyCommandType.String(r.typ), telemetry.KeyOutcome.String(outcome)))
		}
	}
	if IsRefused(err) {
		span.End()
	} else {
		telemetry.End(span, err)
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// Handles reports whether a handler is registered for payloads like
// payload.
func (b *Bus) Handles(payload any) bool {
	t := reflect.TypeOf(payload)
	if t == nil {
		return false
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.handlers[t]
	return ok
}
