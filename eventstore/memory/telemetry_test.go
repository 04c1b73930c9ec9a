package memory_test

import (
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
)

func TestTelemetry(t *testing.T) {
	telemetrytest.RunStore(t, "chronicle.memory", func(t *testing.T, tp trace.TracerProvider, mp metric.MeterProvider) eventstore.Store {
		s := memory.New(memory.Config{TracerProvider: tp, MeterProvider: mp})
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
