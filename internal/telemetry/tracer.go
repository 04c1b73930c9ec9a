package telemetry

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopePrefix is the instrumentation scope of every chronicle package: the
// module path, followed by the package's path in it.
const ScopePrefix = "github.com/chronicle-go/chronicle/"

// globalDefault is the type of the global TracerProvider before an
// application sets one: a provider that delegates to the one set later and
// does nothing until then. Nil if something had set a provider before this
// package was initialised (then every provider counts as enabled).
var globalDefault = func() reflect.Type {
	t := reflect.TypeOf(otel.GetTracerProvider())
	if t == nil || t.String() != "*global.tracerProvider" {
		return nil
	}
	return t
}()

// Tracer starts spans for one chronicle package. The zero Tracer starts
// none.
type Tracer struct {
	tp    trace.TracerProvider // nil: the global provider, looked up at each Start
	scope string
	// cached is the global provider's tracer and the provider it came from
	// (when tp is nil): the global provider may be replaced after the
	// tracer was made, and a tracer of the replaced one would record
	// nowhere.
	cached *atomic.Pointer[scoped]
	tracer trace.Tracer // tp's tracer
	never  bool         // tp is a no-op provider
}

type scoped struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
}

// NewTracer returns the tracer of scope (a package path below
// [ScopePrefix]) from tp, or from the global provider when tp is nil.
func NewTracer(tp trace.TracerProvider, scope string) Tracer {
	if tp != nil && globalDefault != nil && reflect.TypeOf(tp) == globalDefault {
		tp = nil // the global provider handed over explicitly: follow it
	}
	t := Tracer{tp: tp, scope: ScopePrefix + scope}
	if tp != nil {
		t.tracer = tp.Tracer(t.scope)
		switch tp.(type) {
		case noop.TracerProvider, *noop.TracerProvider:
			t.never = true
		}
	} else {
		t.cached = new(atomic.Pointer[scoped])
	}
	return t
}

// idle reports whether spans started now cannot record (switching off
// aside): the zero Tracer, a no-op provider, or the global provider while
// no SDK is installed. It is the one check a process without an SDK makes.
func (t *Tracer) idle() bool {
	if t.tracer != nil {
		return t.never
	}
	if t.cached == nil {
		return true // the zero Tracer
	}
	return idleProvider(otel.GetTracerProvider())
}

func idleProvider(tp trace.TracerProvider) bool {
	if globalDefault != nil && reflect.TypeOf(tp) == globalDefault {
		return true
	}
	switch tp.(type) {
	case noop.TracerProvider, *noop.TracerProvider:
		return true
	}
	return false
}

// current returns the tracer to start spans with, and whether it may
// record.
func (t *Tracer) current() (trace.Tracer, bool) {
	if off.Load() {
		return nil, false
	}
	switch {
	case t.tracer != nil:
		return t.tracer, !t.never
	case t.cached == nil:
		return nil, false // the zero Tracer
	}
	tp := otel.GetTracerProvider()
	if idleProvider(tp) {
		return nil, false
	}
	if c := t.cached.Load(); c != nil && c.tp == tp {
		return c.tracer, true
	}
	c := &scoped{tp: tp, tracer: tp.Tracer(t.scope)}
	t.cached.Store(c)
	return c.tracer, true
}

// off switches every instrumentation point off, for benchmarks that
// compare instrumented code with the same code uninstrumented in one run.
var off atomic.Bool

// SetOff switches chronicle's instrumentation off (true) or on. Only
// benchmarks call it: with it on, spans are not started, events are not
// stamped and nothing is measured, whatever the providers.
func SetOff(v bool) { off.Store(v) }

// Enabled reports whether spans started now may be recorded: an SDK (or
// any provider other than a no-op) is installed.
func (t Tracer) Enabled() bool {
	_, ok := t.current()
	return ok
}

// nonRecording is the span Start returns while tracing is disabled.
var nonRecording trace.Span = noop.Span{}

// Start starts a span of kind named name, a child of ctx's span. While
// tracing is disabled it returns ctx itself and a span that does nothing:
// the trace context of ctx (a caller's, or one continued from an event)
// then stays the current one.
func (t Tracer) Start(ctx context.Context, name string, kind trace.SpanKind, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	tracer, ok := t.current()
	if !ok {
		return ctx, nonRecording
	}
	return tracer.Start(ctx, name, append(opts, trace.WithSpanKind(kind))...)
}

// End ends span, recording err (if not nil) as its error status with the
// error's type in error.type.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(err)))
	}
	span.End()
}

// ErrorType names err for the error.type attribute: chronicle's own kinds
// where it knows them, else the Go type.
func ErrorType(err error) string {
	switch {
	case ConflictKind(err) != "":
		return "conflict"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return reflect.TypeOf(err).String()
}

// Set sets attrs on span when it records; the attributes are not even
// built otherwise when the caller checks [trace.Span.IsRecording] first.
func Set(span trace.Span, attrs ...attribute.KeyValue) {
	if span.IsRecording() {
		span.SetAttributes(attrs...)
	}
}
