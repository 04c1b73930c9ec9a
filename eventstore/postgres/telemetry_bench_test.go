package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
	"github.com/chronicle-go/chronicle/pgtest"
)

// BenchmarkAppendInstrumentation appends one event or ten with an exact
// expected version, with chronicle's instrumentation switched off and on
// in alternating blocks of one run (telemetrytest.Overhead): without an
// OpenTelemetry SDK ("noop") and with one recording every span and metric
// ("sdk").
func BenchmarkAppendInstrumentation(b *testing.B) {
	for _, mode := range []string{"noop", "sdk"} {
		for _, size := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/events=%d", mode, size), func(b *testing.B) {
				cfg := espg.Config{}
				if mode == "sdk" {
					sdk := telemetrytest.NewExporting(b)
					cfg.TracerProvider, cfg.MeterProvider = sdk.TracerProvider, sdk.MeterProvider
				}
				pool, schema := pgtest.Pool(b, pgtest.MaxConns(4))
				cfg.Schema = schema
				s, err := espg.New(pool, cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				if err := s.Migrate(ctx); err != nil {
					b.Fatal(err)
				}
				const streams = 100
				evs := make([]eventstore.Event, b.N*size)
				for i := range evs {
					evs[i] = benchEvent()
				}
				b.ReportAllocs()
				telemetrytest.Overhead(b, 20, func(i int) {
					if _, err := s.Append(ctx, fmt.Sprintf("order-%d", i%streams), eventstore.Exact(uint64(i/streams*size)), evs[i*size:(i+1)*size]...); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}
