package relay

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// instruments are a relay's spans and metrics (see docs/observability.md).
type instruments struct {
	tracer    telemetry.Tracer
	b         *telemetry.Instruments
	published metric.Int64Counter
	duration  metric.Float64Histogram
	lag       metric.Int64ObservableGauge
	lagTime   metric.Float64ObservableGauge
	span      string
	attrs     metric.MeasurementOption
}

func newInstruments(cfg Config) *instruments {
	b := telemetry.NewInstruments(telemetry.Meter(cfg.MeterProvider, "relay"))
	return &instruments{
		tracer:    telemetry.NewTracer(cfg.TracerProvider, "relay"),
		b:         b,
		published: b.Counter("chronicle.relay.messages.published", "{message}", "Messages the broker confirmed, refused (parked) or failed, by relay and outcome (ok, refused, error)."),
		duration:  b.Seconds("chronicle.relay.publish.duration", "From publishing a message to the broker's answer, by relay."),
		lag:       b.Gauge("chronicle.relay.lag", "{event}", "Events after the relay's checkpoint that pass its filter (counted up to relay.LagScanLimit)."),
		lagTime:   b.FloatGauge("chronicle.relay.lag.duration", "s", "How long the oldest event not yet relayed has waited; 0 when caught up."),
		span:      "send " + cfg.Name,
		attrs:     metric.WithAttributes(telemetry.KeyRelay.String(cfg.Name)),
	}
}

// register observes the relay's lag until the returned function is called.
func (in *instruments) register(r *Relay) func() {
	reg := in.b.Register(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		st, err := r.Status(ctx)
		if err != nil {
			return err
		}
		o.ObserveInt64(in.lag, int64(st.LagEvents), in.attrs)
		o.ObserveFloat64(in.lagTime, st.Lag.Seconds(), in.attrs)
		return nil
	}, in.lag, in.lagTime)
	return func() {
		if reg != nil {
			_ = reg.Unregister()
		}
	}
}

// publish starts observing the publication of m, made from e: a producer
// span, a child of the trace context e was appended in, whose own context
// replaces m's, so the consumer's processing is its child. It returns
// what to call with the broker's answer (nil when there is nothing to
// observe).
func (in *instruments) publish(ctx context.Context, e eventstore.RecordedEvent, m *broker.Message) func(error) {
	measure := in.duration.Enabled(ctx)
	if !in.tracer.Enabled() {
		if !measure {
			return nil
		}
		start := time.Now()
		return func(err error) { in.answered(ctx, start, err) }
	}
	ctx = telemetry.ContextWith(ctx, m.TraceParent, m.TraceState)
	if m.TraceParent == "" {
		ctx = telemetry.ContextFromEvent(ctx, e)
	}
	ctx, span := in.tracer.Start(ctx, in.span, trace.SpanKindProducer, trace.WithAttributes(
		semconv.MessagingOperationTypeSend, semconv.MessagingOperationNameKey.String("send"),
		semconv.MessagingMessageID(m.ID), telemetry.KeyRelay.String(in.span[len("send "):]),
		telemetry.KeyEventType.String(e.Type), telemetry.KeyStream.String(e.StreamID),
		telemetry.KeyPosition.String(e.Position.String())))
	m.TraceParent, m.TraceState = telemetry.Current(ctx)
	start := time.Now()
	return func(err error) {
		if span.IsRecording() {
			span.SetAttributes(telemetry.KeyOutcome.String(outcome(err)))
		}
		telemetry.End(span, err)
		if measure {
			in.answered(ctx, start, err)
		}
	}
}

func (in *instruments) answered(ctx context.Context, start time.Time, err error) {
	in.duration.Record(ctx, time.Since(start).Seconds(), in.attrs)
	in.published.Add(ctx, 1, in.attrs, metric.WithAttributes(telemetry.KeyOutcome.String(outcome(err))))
}

func outcome(err error) string {
	switch {
	case err == nil:
		return telemetry.OutcomeOK
	case broker.IsPermanent(err):
		return telemetry.OutcomeRefused
	}
	return telemetry.OutcomeError
}

// both returns a function calling a and b, either of which may be nil.
func both(a, b func(error)) func(error) {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(err error) { a(err); b(err) }
}
