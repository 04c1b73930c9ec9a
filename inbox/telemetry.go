package inbox

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// instruments are an inbox's spans and metrics (see
// docs/observability.md).
type instruments struct {
	tracer     telemetry.Tracer
	applied    metric.Int64Counter
	duplicates metric.Int64Counter
	parked     metric.Int64Counter
	name       string
	span       string
	attrs      metric.MeasurementOption
}

func newInstruments(cfg Config) *instruments {
	b := telemetry.NewInstruments(telemetry.Meter(cfg.MeterProvider, "inbox"))
	return &instruments{
		tracer:     telemetry.NewTracer(cfg.TracerProvider, "inbox"),
		applied:    b.Counter("chronicle.inbox.messages.applied", "{message}", "Messages whose effects committed, by inbox."),
		duplicates: b.Counter("chronicle.inbox.duplicates", "{message}", "Deliveries of messages already processed, suppressed, by inbox."),
		parked:     b.Counter("chronicle.inbox.messages.parked", "{message}", "Messages parked after failing MaxAttempts times (or not decoding), by inbox."),
		name:       cfg.Name,
		span:       "process " + cfg.Name,
		attrs:      metric.WithAttributes(telemetry.KeyInbox.String(cfg.Name)),
	}
}

// process starts the span of handling m: a child of the trace context m
// carries (the relay's publication of it), so the effects the handler
// appends continue the trace of the event that was published.
func (in *instruments) process(ctx context.Context, m broker.Message, attempt int) (context.Context, trace.Span) {
	if !in.tracer.Enabled() {
		// Carry the trace on as it came, so the handler's appends keep it.
		ctx = telemetry.ContextWith(ctx, m.TraceParent, m.TraceState)
		_, span := in.tracer.Start(ctx, "", trace.SpanKindConsumer)
		return ctx, span
	}
	ctx = telemetry.ContextWith(ctx, m.TraceParent, m.TraceState)
	return in.tracer.Start(ctx, in.span, trace.SpanKindConsumer, trace.WithAttributes(
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationNameKey.String("process"),
		semconv.MessagingMessageID(m.ID), semconv.MessagingConsumerGroupName(in.name),
		telemetry.KeyInbox.String(in.name), telemetry.KeyEventType.String(m.Type),
		attributeAttempt(attempt)))
}

// counted adds what one committed batch did.
func (in *instruments) counted(ctx context.Context, applied, duplicates int) {
	if !in.applied.Enabled(ctx) {
		return
	}
	if applied > 0 {
		in.applied.Add(ctx, int64(applied), in.attrs)
	}
	if duplicates > 0 {
		in.duplicates.Add(ctx, int64(duplicates), in.attrs)
	}
}

func (in *instruments) parkedOne(ctx context.Context) {
	if in.parked.Enabled(ctx) {
		in.parked.Add(ctx, 1, in.attrs)
	}
}

func attributeAttempt(n int) attribute.KeyValue {
	return attribute.Int("messaging.delivery.attempt", n)
}
