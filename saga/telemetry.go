package saga

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// instruments are an engine's spans and metrics (see
// docs/observability.md).
type instruments struct {
	tracer   telemetry.Tracer
	b        *telemetry.Instruments
	handled  metric.Int64Counter
	parked   metric.Int64Counter
	sent     metric.Int64Counter
	duration metric.Float64Histogram
	count    metric.Int64ObservableGauge
	pending  metric.Int64ObservableGauge
	oldest   metric.Float64ObservableGauge
	due      metric.Int64ObservableGauge
}

func newInstruments(cfg Config) *instruments {
	b := telemetry.NewInstruments(telemetry.Meter(cfg.MeterProvider, "saga"))
	return &instruments{
		tracer:   telemetry.NewTracer(cfg.TracerProvider, "saga"),
		b:        b,
		handled:  b.Counter("chronicle.saga.events.handled", "{event}", "Events a saga's handlers ran on, by saga."),
		parked:   b.Counter("chronicle.saga.events.parked", "{event}", "Events parked after the handler kept failing, by saga."),
		sent:     b.Counter("chronicle.saga.commands.sent", "{command}", "Outbox commands sent, by saga, compensation and outcome (ok, refused, error)."),
		duration: b.Seconds("chronicle.saga.step.duration", "How long a saga's handler takes on an event or a deadline (a step), by saga and kind (event, deadline)."),
		count:    b.Gauge("chronicle.saga.instances", "{instance}", "Saga instances, by saga and status."),
		pending:  b.Gauge("chronicle.saga.outbox.pending", "{command}", "Outbox commands not sent yet, by saga."),
		oldest:   b.FloatGauge("chronicle.saga.outbox.oldest_age", "s", "Age of the oldest outbox command not sent yet, by saga; 0 when none."),
		due:      b.Gauge("chronicle.saga.deadlines.due", "{deadline}", "Deadlines due and not fired yet, by saga."),
	}
}

// register observes the engine's gauges until the returned function is
// called.
func (in *instruments) register(e *Engine) func() {
	name := e.Name()
	saga := metric.WithAttributes(telemetry.KeySaga.String(name))
	reg := in.b.Register(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		counts, err := e.store.Count(ctx, name)
		if err != nil {
			return err
		}
		for _, st := range []Status{Running, Compensating, Completed, Compensated} {
			o.ObserveInt64(in.count, int64(counts[st]), metric.WithAttributes(telemetry.KeySaga.String(name), telemetry.KeySagaStatus.String(string(st))))
		}
		br, ok := e.store.(BacklogReader)
		if !ok {
			return nil
		}
		now := e.now()
		b, err := br.Backlog(ctx, name, now)
		if err != nil {
			return err
		}
		o.ObserveInt64(in.pending, int64(b.Pending), saga)
		age := 0.0
		if !b.Oldest.IsZero() {
			age = max(now.Sub(b.Oldest).Seconds(), 0)
		}
		o.ObserveFloat64(in.oldest, age, saga)
		o.ObserveInt64(in.due, int64(b.DeadlinesDue), saga)
		return nil
	}, in.count, in.pending, in.oldest, in.due)
	return func() {
		if reg != nil {
			_ = reg.Unregister()
		}
	}
}

// step is one handler run (on an event or a deadline), observed.
type step struct {
	span    trace.Span
	start   time.Time
	metrics bool
	// tp and ts are the trace context the step's commands and deadlines
	// carry: the step's span's, or, with tracing off, the one it
	// continues, passed on as it came.
	tp, ts string
}

// startEvent starts the span of handling ev for the instance: a child of
// the trace context ev was appended in, so one order's saga steps stay in
// the order's trace.
func (in *instruments) startEvent(ctx context.Context, saga, instance string, ev eventstore.RecordedEvent) (context.Context, step) {
	var s step
	if in.tracer.Enabled() {
		ctx = telemetry.ContextFromEvent(ctx, ev)
		ctx, s.span = in.tracer.Start(ctx, "saga "+saga, trace.SpanKindConsumer, trace.WithAttributes(
			telemetry.KeySaga.String(saga), telemetry.KeySagaInstance.String(instance),
			telemetry.KeyEventType.String(ev.Type), telemetry.KeyEventID.String(ev.ID.String()),
			telemetry.KeyStream.String(ev.StreamID), telemetry.KeyPosition.String(ev.Position.String())))
		s.tp, s.ts = telemetry.Current(ctx)
	} else {
		_, s.span = in.tracer.Start(ctx, "", trace.SpanKindConsumer)
		s.tp, s.ts = ev.Metadata.Get(telemetry.MetadataTraceParent), ev.Metadata.Get(telemetry.MetadataTraceState)
	}
	if s.metrics = in.handled.Enabled(ctx); s.metrics {
		s.start = time.Now()
	}
	return ctx, s
}

// startDeadline starts the span of firing deadline d: a child of the trace
// context it was scheduled in.
func (in *instruments) startDeadline(ctx context.Context, d Deadline) (context.Context, step) {
	var s step
	if in.tracer.Enabled() {
		ctx = telemetry.ContextWith(ctx, d.TraceParent, d.TraceState)
		ctx, s.span = in.tracer.Start(ctx, "saga "+d.Saga+" deadline", trace.SpanKindInternal, trace.WithAttributes(
			telemetry.KeySaga.String(d.Saga), telemetry.KeySagaInstance.String(d.Instance), telemetry.KeyDeadline.String(d.Name)))
		s.tp, s.ts = telemetry.Current(ctx)
	} else {
		_, s.span = in.tracer.Start(ctx, "", trace.SpanKindInternal)
		s.tp, s.ts = d.TraceParent, d.TraceState
	}
	if s.metrics = in.handled.Enabled(ctx); s.metrics {
		s.start = time.Now()
	}
	return ctx, s
}

// stamp gives the commands of c from index from on, and the instance's
// deadlines, the step's trace context.
func (s step) stamp(c *Commit, from int, w *working) {
	for i := from; i < len(c.Commands); i++ {
		c.Commands[i].TraceParent, c.Commands[i].TraceState = s.tp, s.ts
	}
	if w != nil {
		w.trace = [2]string{s.tp, s.ts}
	}
}

// end ends a step of saga (kind "event" or "deadline") that left the
// instance in status, or failed with err.
func (in *instruments) end(ctx context.Context, s step, saga, kind string, status Status, err error) {
	if s.span.IsRecording() && status != "" {
		s.span.SetAttributes(telemetry.KeySagaStatus.String(string(status)))
		if status == Compensating || status == Compensated {
			s.span.AddEvent("compensate")
		}
	}
	telemetry.End(s.span, err)
	if !s.metrics {
		return
	}
	in.duration.Record(ctx, time.Since(s.start).Seconds(), metric.WithAttributes(
		telemetry.KeySaga.String(saga), attribute.String("chronicle.saga.step.kind", kind)))
	if kind == "event" {
		in.handled.Add(ctx, 1, metric.WithAttributes(telemetry.KeySaga.String(saga)))
	}
	if err != nil && kind == "event" && ctx.Err() == nil {
		// The engine parks an event its handler kept failing on.
		in.parked.Add(ctx, 1, metric.WithAttributes(telemetry.KeySaga.String(saga)))
	}
}

// startSend starts the span of sending c from the outbox: a child of the
// trace context c was decided in (also with tracing off here, so that the
// receiving handler's events carry the trace on).
func (in *instruments) startSend(ctx context.Context, c Command) (context.Context, trace.Span) {
	ctx = telemetry.ContextWith(ctx, c.TraceParent, c.TraceState)
	if !in.tracer.Enabled() {
		_, span := in.tracer.Start(ctx, "", trace.SpanKindProducer)
		return ctx, span
	}
	name := "send " + c.Type
	if c.Compensation {
		name = "compensate " + c.Type
	}
	return in.tracer.Start(ctx, name, trace.SpanKindProducer, trace.WithAttributes(
		telemetry.KeySaga.String(c.Saga), telemetry.KeySagaInstance.String(c.Instance),
		telemetry.KeyCommandType.String(c.Type), telemetry.KeyCommandID.String(c.ID.String()),
		telemetry.KeyCommandAttempts.Int(c.Attempts), telemetry.KeyCompensation.Bool(c.Compensation),
		telemetry.KeySagaStep.String(c.Step)))
}

// endSend ends the span of sending c, which err answered.
func (in *instruments) endSend(ctx context.Context, span trace.Span, c Command, refused bool, err error) {
	outcome := telemetry.OutcomeOK
	switch {
	case refused:
		outcome = telemetry.OutcomeRefused
	case err != nil:
		outcome = telemetry.OutcomeError
	}
	if span.IsRecording() {
		span.SetAttributes(telemetry.KeyOutcome.String(outcome))
	}
	if refused {
		span.End()
	} else {
		telemetry.End(span, err)
	}
	if in.sent.Enabled(ctx) {
		in.sent.Add(ctx, 1, metric.WithAttributes(telemetry.KeySaga.String(c.Saga),
			telemetry.KeyCompensation.Bool(c.Compensation), telemetry.KeyOutcome.String(outcome)))
	}
}
