package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
)

// Store instruments an event store backend: spans around appends, reads
// and subscription pages, and the store's metrics. Backends share it so
// that every store reports the same names.
type Store struct {
	tracer Tracer
	system attribute.KeyValue

	appends   metric.Int64Counter
	appended  metric.Int64Counter
	conflicts metric.Int64Counter
	read      metric.Int64Counter
	duration  metric.Float64Histogram

	// Precomputed measurement options, so a measurement allocates nothing.
	ok, conflict, failed []metric.AddOption
	okRec, conflictRec   []metric.RecordOption
	failedRec            []metric.RecordOption
	kinds                map[string][]metric.AddOption
	reads                map[string][]metric.AddOption
}

// Operations, the values of [KeyOperation] on read spans and metrics.
const (
	OpAppend     = "append"
	OpReadStream = "read_stream"
	OpReadAll    = "read_all"
	OpSubscribe  = "subscribe"
)

// NewStore returns the instruments of a store whose backend is system
// (the db.system.name: "postgresql", or "chronicle.memory"), in package
// scope, from tp and mp (nil: the global providers).
func NewStore(tp trace.TracerProvider, mp metric.MeterProvider, scope, system string) *Store {
	b := NewInstruments(Meter(mp, scope))
	s := &Store{
		tracer:    NewTracer(tp, scope),
		system:    semconv.DBSystemNameKey.String(system),
		appends:   b.Counter("chronicle.store.appends", "{append}", "Appends, by outcome (ok, conflict, error)."),
		appended:  b.Counter("chronicle.store.events.appended", "{event}", "Events appended."),
		conflicts: b.Counter("chronicle.store.conflicts", "{conflict}", "Appends refused by a concurrency conflict, by kind (version, event_id, retry)."),
		read:      b.Counter("chronicle.store.events.read", "{event}", "Events read, by operation (read_stream, read_all, subscribe)."),
		duration:  b.Seconds("chronicle.store.append.duration", "How long appends take, by outcome."),
		kinds:     map[string][]metric.AddOption{},
		reads:     map[string][]metric.AddOption{},
	}
	set := func(outcome string) attribute.Set {
		return attribute.NewSet(s.system, KeyOutcome.String(outcome))
	}
	s.ok = []metric.AddOption{metric.WithAttributeSet(set(OutcomeOK))}
	s.conflict = []metric.AddOption{metric.WithAttributeSet(set(OutcomeConflict))}
	s.failed = []metric.AddOption{metric.WithAttributeSet(set(OutcomeError))}
	s.okRec = []metric.RecordOption{metric.WithAttributeSet(set(OutcomeOK))}
	s.conflictRec = []metric.RecordOption{metric.WithAttributeSet(set(OutcomeConflict))}
	s.failedRec = []metric.RecordOption{metric.WithAttributeSet(set(OutcomeError))}
	for _, k := range []string{ConflictVersion, ConflictEventID, ConflictRetry} {
		s.kinds[k] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(s.system, KeyConflictKind.String(k)))}
	}
	for _, op := range []string{OpReadStream, OpReadAll, OpSubscribe} {
		s.reads[op] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(s.system, KeyOperation.String(op)))}
	}
	return s
}

// Append is one append being observed; see [Store.StartAppend].
type Append struct {
	s       *Store
	span    trace.Span
	start   time.Time
	metrics bool
	events  int
}

// Idle reports whether an append in ctx has nothing to observe and no
// trace context to stamp: no SDK behind the store's tracer or its append
// metrics, and no span in ctx. It is one cheap check (about 10 ns), which
// backends make first and which spares a process without an SDK the calls
// of [Store.StartAppend], [Stamp] and [Append.End] on every append:
//
//	if s.tel.Idle(ctx) {
//		return s.appendEvents(ctx, stream, expected, events)
//	}
func (s *Store) Idle(ctx context.Context) bool {
	return s == nil || off.Load() || (s.tracer.idle() && spanless(ctx) && !s.appends.Enabled(ctx))
}

// StartAppend starts observing an append of n events to stream. The
// returned context carries the append's span: stamp the events with
// [Stamp] on it, so they remember the append's trace context.
func (s *Store) StartAppend(ctx context.Context, stream string, expected eventstore.ExpectedVersion, n int) (context.Context, Append) {
	if s == nil || off.Load() {
		return ctx, Append{}
	}
	tracer, tracing := s.tracer.current()
	metrics := s.appends.Enabled(ctx)
	if !tracing && !metrics {
		return ctx, Append{} // the common case without an SDK: nothing to do at the end either
	}
	a := Append{s: s, span: nonRecording, events: n, metrics: metrics}
	if tracing {
		ctx, a.span = tracer.Start(ctx, "eventstore.append", trace.WithSpanKind(trace.SpanKindClient))
		if a.span.IsRecording() {
			a.span.SetAttributes(s.system, semconv.DBOperationNameKey.String(OpAppend), KeyStream.String(stream),
				KeyEventCount.Int(n), KeyExpectedVersion.String(Expected(expected)))
		}
	}
	if metrics {
		a.start = time.Now()
	}
	return ctx, a
}

// End ends the append with its result.
func (a Append) End(ctx context.Context, res eventstore.AppendResult, err error) {
	if a.s == nil {
		return
	}
	if !a.metrics && !a.span.IsRecording() {
		a.span.End()
		return
	}
	kind := ConflictKind(err)
	if a.span.IsRecording() {
		switch {
		case err == nil:
			a.span.SetAttributes(KeyOutcome.String(OutcomeOK), KeyStreamVersion.Int64(int64(res.Version)))
			if len(res.Positions) > 0 {
				a.span.SetAttributes(KeyPositionFrom.String(res.Positions[0].String()),
					KeyPositionTo.String(res.Positions[len(res.Positions)-1].String()))
			}
		case kind != "":
			a.span.SetAttributes(KeyOutcome.String(OutcomeConflict), KeyConflictKind.String(kind))
		default:
			a.span.SetAttributes(KeyOutcome.String(OutcomeError))
		}
	}
	End(a.span, err)
	if !a.metrics {
		return
	}
	s := a.s
	d := time.Since(a.start).Seconds()
	switch {
	case err == nil:
		s.appends.Add(ctx, 1, s.ok...)
		s.appended.Add(ctx, int64(a.events), s.ok...)
		s.duration.Record(ctx, d, s.okRec...)
	case kind != "":
		s.appends.Add(ctx, 1, s.conflict...)
		s.conflicts.Add(ctx, 1, s.kinds[kind]...)
		s.duration.Record(ctx, d, s.conflictRec...)
	default:
		s.appends.Add(ctx, 1, s.failed...)
		s.duration.Record(ctx, d, s.failedRec...)
	}
}

// Read is one read or subscription page being observed; see
// [Store.StartRead].
type Read struct {
	s    *Store
	op   string
	span trace.Span
}

// StartRead starts observing a read (op [OpReadStream] or [OpReadAll]) of
// stream ("" for the global log). End it when the read ends.
func (s *Store) StartRead(ctx context.Context, op, stream string) (context.Context, Read) {
	if s == nil || off.Load() {
		return ctx, Read{span: nonRecording}
	}
	ctx, span := s.tracer.Start(ctx, readSpan(op), trace.SpanKindClient)
	if span.IsRecording() {
		span.SetAttributes(s.system, semconv.DBOperationNameKey.String(op))
		if stream != "" {
			span.SetAttributes(KeyStream.String(stream))
		}
	}
	return ctx, Read{s: s, op: op, span: span}
}

// End ends the read, which delivered n events.
func (r Read) End(ctx context.Context, n int, err error) {
	if r.s == nil {
		return
	}
	if r.span.IsRecording() {
		r.span.SetAttributes(KeyEventCount.Int(n))
	}
	End(r.span, err)
	r.s.Count(ctx, r.op, n)
}

// Count adds n events read by op to the events-read counter.
func (s *Store) Count(ctx context.Context, op string, n int) {
	if s == nil || n == 0 || off.Load() || !s.read.Enabled(ctx) {
		return
	}
	s.read.Add(ctx, int64(n), s.reads[op]...)
}

// Page records a subscription page of events read since start (zero when
// tracing was off as the read began): a span
// (only for a page that delivered something, so an idle subscription's
// polls leave no spans) and the events-read counter.
func (s *Store) Page(ctx context.Context, start time.Time, page []eventstore.RecordedEvent) {
	if s == nil || len(page) == 0 {
		return
	}
	s.Count(ctx, OpSubscribe, len(page))
	if start.IsZero() || !s.tracer.Enabled() {
		return
	}
	_, span := s.tracer.Start(ctx, "eventstore.subscribe", trace.SpanKindClient, trace.WithTimestamp(start))
	if span.IsRecording() {
		span.SetAttributes(s.system, semconv.DBOperationNameKey.String(OpSubscribe), KeyEventCount.Int(len(page)),
			KeyPositionFrom.String(page[0].Position.String()), KeyPositionTo.String(page[len(page)-1].Position.String()))
	}
	span.End()
}

// Tracing reports whether spans may be recorded now, for callers that
// would have to do work (read the clock) only for a span.
func (s *Store) Tracing() bool { return s != nil && s.tracer.Enabled() }

// readSpan names the span of a read (a constant: nothing to allocate
// while tracing is off).
func readSpan(op string) string {
	switch op {
	case OpReadStream:
		return "eventstore.read_stream"
	case OpReadAll:
		return "eventstore.read_all"
	}
	return "eventstore." + op
}
