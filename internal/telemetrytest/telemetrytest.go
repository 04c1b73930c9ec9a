// Package telemetrytest gives chronicle's tests an OpenTelemetry SDK that
// records in memory: every span, and metrics read on demand. Only tests
// import it (it is the one place outside cmd/ and the examples that
// imports the SDK).
package telemetrytest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// SDK is a tracer and a meter provider that keep what they record.
type SDK struct {
	Spans          *tracetest.SpanRecorder
	TracerProvider *sdktrace.TracerProvider
	Reader         *sdkmetric.ManualReader
	MeterProvider  *sdkmetric.MeterProvider
}

// New returns an SDK sampling every span; it is shut down when t ends.
func New(t testing.TB) *SDK {
	s := &SDK{Spans: tracetest.NewSpanRecorder(), Reader: sdkmetric.NewManualReader()}
	s.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.Spans), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	s.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.Reader))
	t.Cleanup(func() {
		_ = s.TracerProvider.Shutdown(context.Background())
		_ = s.MeterProvider.Shutdown(context.Background())
	})
	return s
}

// Ended returns the spans that ended so far, named name if name is not "".
func (s *SDK) Ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, sp := range s.Spans.Ended() {
		if name == "" || sp.Name() == name {
			out = append(out, sp)
		}
	}
	return out
}

// Tracer returns a tracer of the SDK, for a test's own spans.
func (s *SDK) Tracer() trace.Tracer { return s.TracerProvider.Tracer("test") }

// Attr returns the value of attribute key on span, and whether it is set.
func Attr(span sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range span.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// Collect reads every metric now.
func (s *SDK) Collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.Reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	return rm
}

// Value returns the value of the metric name for the data point whose
// attributes include every one of attrs ("key=value"): the sum of a
// counter, the value of a gauge, the count of a histogram. ok is false when
// no such point exists.
func (s *SDK) Value(t testing.TB, name string, attrs ...string) (v float64, ok bool) {
	t.Helper()
	rm := s.Collect(t)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes, attrs) {
						v, ok = v+float64(p.Value), true
					}
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes, attrs) {
						v, ok = v+p.Value, true
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes, attrs) {
						v, ok = v+float64(p.Value), true
					}
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes, attrs) {
						v, ok = v+p.Value, true
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes, attrs) {
						v, ok = v+float64(p.Count), true
					}
				}
			}
		}
	}
	return v, ok
}

// Names lists the metrics collected now, sorted.
func (s *SDK) Names(t testing.TB) []string {
	var out []string
	for _, sm := range s.Collect(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

func match(set attribute.Set, attrs []string) bool {
	for _, a := range attrs {
		k, want, _ := strings.Cut(a, "=")
		v, ok := set.Value(attribute.Key(k))
		if !ok || v.Emit() != want {
			return false
		}
	}
	return true
}

// Tree renders the spans of one trace as an indented tree of names, each
// child under its parent in start order, for failure messages.
func Tree(spans []sdktrace.ReadOnlySpan) string {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext().SpanID()] = true
	}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if p := s.Parent(); p.IsValid() && ids[p.SpanID()] {
			children[p.SpanID()] = append(children[p.SpanID()], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(s sdktrace.ReadOnlySpan, depth int)
	walk = func(s sdktrace.ReadOnlySpan, depth int) {
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), s.Name())
		kids := children[s.SpanContext().SpanID()]
		slices.SortFunc(kids, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	slices.SortFunc(roots, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}

// NewExporting returns an SDK as a production program runs one: every
// span sampled and handed to a batch span processor whose exporter
// discards them (the cost of recording, without the network's), and
// metrics aggregated by a meter provider. Spans is nil: nothing is kept
// for the test to read. For benchmarks.
func NewExporting(t testing.TB) *SDK {
	s := &SDK{Reader: sdkmetric.NewManualReader()}
	s.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	s.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.Reader))
	t.Cleanup(func() {
		_ = s.TracerProvider.Shutdown(context.Background())
		_ = s.MeterProvider.Shutdown(context.Background())
	})
	return s
}
