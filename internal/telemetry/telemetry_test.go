package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/telemetry"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
)

func TestFormatParseRoundTrip(t *testing.T) {
	sdk := telemetrytest.New(t)
	ctx, span := sdk.Tracer().Start(context.Background(), "x")
	defer span.End()
	ts, err := trace.ParseTraceState("vendor=abc,other=1")
	if err != nil {
		t.Fatal(err)
	}
	sc := span.SpanContext().WithTraceState(ts)
	tp, state := telemetry.Format(sc)
	if len(tp) != 55 || tp[:3] != "00-" || tp[53:] != "01" {
		t.Fatalf("traceparent %q", tp)
	}
	back := telemetry.Parse(tp, state)
	if back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID() || back.TraceFlags() != sc.TraceFlags() ||
		back.TraceState().String() != "vendor=abc,other=1" || !back.IsRemote() {
		t.Fatalf("parsed %+v from %q %q, want %+v", back, tp, state, sc)
	}
	if got, _ := telemetry.Current(ctx); got[:35] != tp[:35] {
		t.Fatalf("Current %q, want the trace of %q", got, tp)
	}
	for _, bad := range []string{"", "00-", "zz-" + tp[3:], tp[:54], "ff" + tp[2:], tp + "-x",
		"00-00000000000000000000000000000000-" + tp[36:], tp[:36] + "0000000000000000" + tp[52:]} {
		if telemetry.Parse(bad, "").IsValid() {
			t.Errorf("Parse(%q) is valid", bad)
		}
	}
	// A later version may carry more fields.
	if !telemetry.Parse("01"+tp[2:]+"-more", "").IsValid() {
		t.Error("a version 01 traceparent with more fields is refused")
	}
}

func TestStampCopiesAndReplaces(t *testing.T) {
	events := []eventstore.Event{
		{Type: "A", Metadata: eventstore.Metadata{Values: map[string]string{"k": "v", "traceparent": "old", "tracestate": "old"}}},
		{Type: "B"},
	}
	if got := telemetry.Stamp(context.Background(), events); &got[0] != &events[0] {
		t.Fatal("Stamp without a span context copied the events")
	}
	sdk := telemetrytest.New(t)
	ctx, span := sdk.Tracer().Start(context.Background(), "x")
	defer span.End()
	got := telemetry.Stamp(ctx, events)
	want, _ := telemetry.Format(span.SpanContext())
	for i, e := range got {
		if e.Metadata.Get("traceparent") != want {
			t.Fatalf("event %d: traceparent %q, want %q", i, e.Metadata.Get("traceparent"), want)
		}
		if _, ok := e.Metadata.Values["tracestate"]; ok {
			t.Fatalf("event %d kept a stale tracestate", i)
		}
	}
	if got[0].Metadata.Get("k") != "v" {
		t.Fatal("Stamp dropped a metadata value")
	}
	if events[0].Metadata.Get("traceparent") != "old" || events[1].Metadata.Values != nil {
		t.Fatal("Stamp changed the caller's events")
	}
	if sc := telemetry.FromMetadata(got[1].Metadata); sc.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("FromMetadata %v", sc)
	}
}

// Store.Idle, the one check an append makes before anything else, holds
// exactly when there is nothing to record and nothing to stamp. (Before
// TestDisabledUntilAnSDKIsInstalled, which installs a global SDK.)
func TestStoreIdle(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	bg, received := context.Background(), telemetry.ContextWith(context.Background(), tp, "")
	sdk := telemetrytest.New(t)
	for _, c := range []struct {
		name string
		tp   trace.TracerProvider
		mp   metric.MeterProvider
		ctx  context.Context
		want bool
	}{
		{"global providers, no SDK", nil, nil, bg, true},
		{"no-op providers", noop.NewTracerProvider(), metricnoop.NewMeterProvider(), bg, true},
		{"a received trace context to stamp", noop.NewTracerProvider(), metricnoop.NewMeterProvider(), received, false},
		{"the global providers and a received trace context", nil, nil, received, false},
		{"an SDK tracer", sdk.TracerProvider, metricnoop.NewMeterProvider(), bg, false},
		{"an SDK meter", noop.NewTracerProvider(), sdk.MeterProvider, bg, false},
	} {
		s := telemetry.NewStore(c.tp, c.mp, "test", "test")
		if got := s.Idle(c.ctx); got != c.want {
			t.Errorf("%s: Idle %v, want %v", c.name, got, c.want)
		}
	}
	if !(*telemetry.Store)(nil).Idle(received) {
		t.Error("a nil Store is not idle")
	}
	telemetry.SetOff(true)
	defer telemetry.SetOff(false)
	if !telemetry.NewStore(sdk.TracerProvider, sdk.MeterProvider, "test", "test").Idle(received) {
		t.Error("switched off and not idle")
	}
}

// Without an SDK, a span costs nothing: the context is returned as it
// came, and nothing is allocated. Once the application installs an SDK in
// the global provider, tracers made before start recording.
func TestDisabledUntilAnSDKIsInstalled(t *testing.T) {
	tr := telemetry.NewTracer(nil, "test")
	explicit := telemetry.NewTracer(otel.GetTracerProvider(), "test")
	ctx := context.Background()
	if tr.Enabled() || explicit.Enabled() {
		t.Fatal("enabled without an SDK")
	}
	allocs := testing.AllocsPerRun(100, func() {
		c, span := tr.Start(ctx, "x", trace.SpanKindInternal)
		if c != ctx || span.IsRecording() {
			t.Fatal("a disabled tracer changed the context")
		}
		span.End()
		_ = telemetry.Stamp(c, []eventstore.Event{{Type: "A"}})
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per disabled span", allocs)
	}
	if telemetry.NewTracer(noop.NewTracerProvider(), "test").Enabled() {
		t.Fatal("the no-op provider is enabled")
	}
	if (telemetry.Tracer{}).Enabled() {
		t.Fatal("the zero Tracer is enabled")
	}

	sdk := telemetrytest.New(t)
	otel.SetTracerProvider(sdk.TracerProvider)
	if !tr.Enabled() || !explicit.Enabled() {
		t.Fatal("still disabled after the SDK was installed")
	}
	_, span := tr.Start(ctx, "after", trace.SpanKindInternal)
	span.End()
	if len(sdk.Ended("after")) != 1 {
		t.Fatal("the span started after the SDK was installed was not recorded")
	}
	// A tracer follows the global provider when it is replaced.
	second := telemetrytest.New(t)
	otel.SetTracerProvider(second.TracerProvider)
	_, span = tr.Start(ctx, "replaced", trace.SpanKindInternal)
	span.End()
	if len(second.Ended("replaced")) != 1 || len(sdk.Ended("replaced")) != 0 {
		t.Fatal("the span went to the replaced provider")
	}
	telemetry.SetOff(true)
	defer telemetry.SetOff(false)
	if tr.Enabled() {
		t.Fatal("SetOff(true) left tracing on")
	}
}

// A process without an SDK passes on a trace context it received (a
// remote span context, not a span of its own): its appends are stamped.
func TestStampWithoutAnSDKKeepsAReceivedContext(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := telemetry.ContextWith(context.Background(), tp, "k=v")
	got := telemetry.Stamp(ctx, []eventstore.Event{{Type: "A"}, {Type: "B"}})
	for i, e := range got {
		if e.Metadata.Get(telemetry.MetadataTraceParent) != tp || e.Metadata.Get(telemetry.MetadataTraceState) != "k=v" {
			t.Fatalf("event %d: metadata %+v, want the received trace context", i, e.Metadata)
		}
	}
}

// BenchmarkIdle is the check every append makes in a process without an
// SDK (docs/observability.md, Overhead).
func BenchmarkIdle(b *testing.B) {
	ctx := context.Background()
	s := telemetry.NewStore(nil, nil, "test", "test")
	for b.Loop() {
		if !s.Idle(ctx) {
			b.Fatal("not idle without an SDK")
		}
	}
}
