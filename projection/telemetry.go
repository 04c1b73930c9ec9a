package projection

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// maxLinks bounds the span links of one batch (the SDK keeps 128 by
// default).
const maxLinks = 128

// instruments are a runner's spans and metrics (see docs/observability.md).
type instruments struct {
	tracer   telemetry.Tracer
	b        *telemetry.Instruments
	applied  metric.Int64Counter
	errors   metric.Int64Counter
	duration metric.Float64Histogram
	lag      metric.Int64ObservableGauge
	lagTime  metric.Float64ObservableGauge
	failed   metric.Int64ObservableGauge
}

func newInstruments(cfg Config) *instruments {
	b := telemetry.NewInstruments(telemetry.Meter(cfg.MeterProvider, "projection"))
	return &instruments{
		tracer:   telemetry.NewTracer(cfg.TracerProvider, "projection"),
		b:        b,
		applied:  b.Counter("chronicle.projection.events.applied", "{event}", "Events applied to read models, by projection."),
		errors:   b.Counter("chronicle.projection.errors", "{error}", "Failed attempts to apply a batch or an event, by projection."),
		duration: b.Seconds("chronicle.projection.batch.duration", "How long a batch takes to apply and commit with its checkpoint, by projection."),
		lag:      b.Gauge("chronicle.projection.lag", "{event}", "Events after the projection's checkpoint that it will handle (counted up to projection.LagScanLimit)."),
		lagTime:  b.FloatGauge("chronicle.projection.lag.duration", "s", "How long the oldest event the projection has not handled has been waiting; 0 when caught up."),
		failed:   b.Gauge("chronicle.projection.failed", "{projection}", "1 while the projection is stopped at a failed event, else 0."),
	}
}

// register observes the runner's gauges until the returned function is
// called.
func (in *instruments) register(r interface {
	Status(context.Context) ([]Status, error)
}) func() {
	reg := in.b.Register(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		sts, err := r.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range sts {
			attrs := metric.WithAttributes(telemetry.KeyProjection.String(s.Name))
			o.ObserveInt64(in.lag, int64(s.LagEvents), attrs)
			o.ObserveFloat64(in.lagTime, s.Lag.Seconds(), attrs)
			failed := int64(0)
			if s.State == Failed {
				failed = 1
			}
			o.ObserveInt64(in.failed, failed, attrs)
		}
		return nil
	}, in.lag, in.lagTime, in.failed)
	return func() {
		if reg != nil {
			_ = reg.Unregister()
		}
	}
}

// batchSpan is one batch being applied, observed.
type batchSpan struct {
	span    trace.Span
	start   time.Time
	metrics bool
}

// startBatch starts the span of a batch of events applied to projection
// name: a new trace, linked to the trace context of each event (up to
// maxLinks distinct ones). A batch holds events of many traces and commits
// once, so it is a child of none of them.
func (in *instruments) startBatch(ctx context.Context, name string, events []eventstore.RecordedEvent) (context.Context, batchSpan) {
	var b batchSpan
	if in.tracer.Enabled() {
		links := make([]trace.Link, 0, min(len(events), 8))
		seen := make(map[trace.SpanID]bool)
		for _, e := range events {
			if len(links) == maxLinks {
				break
			}
			sc := telemetry.FromMetadata(e.Metadata)
			if sc.IsValid() && !seen[sc.SpanID()] {
				seen[sc.SpanID()] = true
				links = append(links, trace.Link{SpanContext: sc})
			}
		}
		ctx, b.span = in.tracer.Start(ctx, "projection "+name, trace.SpanKindConsumer,
			trace.WithNewRoot(), trace.WithLinks(links...), trace.WithAttributes(
				telemetry.KeyProjection.String(name), telemetry.KeyEventCount.Int(len(events)),
				telemetry.KeyPositionFrom.String(events[0].Position.String()),
				telemetry.KeyPositionTo.String(events[len(events)-1].Position.String())))
	} else {
		_, b.span = in.tracer.Start(ctx, "", trace.SpanKindConsumer)
	}
	if b.metrics = in.applied.Enabled(ctx); b.metrics {
		b.start = time.Now()
	}
	return ctx, b
}

// end ends the batch of n events for projection name with its outcome.
func (in *instruments) end(ctx context.Context, b batchSpan, name string, n int, err error) {
	if b.span.IsRecording() {
		b.span.SetAttributes(telemetry.KeyOutcome.String(telemetry.Outcome(err)))
	}
	telemetry.End(b.span, err)
	if !b.metrics {
		return
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(telemetry.KeyProjection.String(name)))
	in.duration.Record(ctx, time.Since(b.start).Seconds(), attrs)
	if err != nil {
		in.errors.Add(ctx, 1, attrs)
		return
	}
	in.applied.Add(ctx, int64(n), attrs)
}
