package postgres_test

import (
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
	"github.com/chronicle-go/chronicle/pgtest"
)

func TestTelemetry(t *testing.T) {
	pgtest.Require(t)
	telemetrytest.RunStore(t, "postgresql", func(t *testing.T, tp trace.TracerProvider, mp metric.MeterProvider) eventstore.Store {
		s, _, _ := newStoreConfig(t, espg.Config{TracerProvider: tp, MeterProvider: mp})
		return s
	})
}
