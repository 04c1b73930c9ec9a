package command_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/telemetrytest"
)

type counted struct {
	aggregate.Root
	N int `json:"n"`
}

type incremented struct{}

type increment struct{ ID string }

func (c *counted) Apply(e any) {
	if _, ok := e.(incremented); ok {
		c.N++
	}
}

// BenchmarkCommandInstrumentation is a command round trip on the memory
// store — through the bus with the recommended middleware, loading the
// aggregate, appending one event — with chronicle's instrumentation
// switched off and on in alternating blocks of one run
// (telemetrytest.Overhead): without an OpenTelemetry SDK ("noop") and with
// one recording every span and metric ("sdk").
func BenchmarkCommandInstrumentation(b *testing.B) {
	for _, mode := range []string{"noop", "sdk"} {
		b.Run(mode, func(b *testing.B) {
			storeCfg, busCfg := memory.Config{}, command.Config{Middleware: []command.Middleware{
				command.Metadata(), command.Idempotent(), command.RetryConflicts(command.RetryConfig{}),
			}}
			repoCfg := aggregate.Config[*counted]{Type: "counter"}
			if mode == "sdk" {
				sdk := telemetrytest.NewExporting(b)
				storeCfg.TracerProvider, storeCfg.MeterProvider = sdk.TracerProvider, sdk.MeterProvider
				busCfg.TracerProvider, busCfg.MeterProvider = sdk.TracerProvider, sdk.MeterProvider
				repoCfg.TracerProvider = sdk.TracerProvider
			}
			store := memory.New(storeCfg)
			defer store.Close()
			registry := eventstore.NewRegistry(nil)
			eventstore.MustRegister[incremented](registry, "Incremented")
			repo, err := aggregate.NewRepository(store, registry, repoCfg)
			if err != nil {
				b.Fatal(err)
			}
			bus := newBus(b, busCfg)
			command.MustHandleFunc(bus, func(ctx context.Context, c increment) error {
				a, err := repo.LoadOrNew(ctx, c.ID)
				if err != nil {
					return err
				}
				aggregate.Record(a, incremented{})
				_, err = repo.Save(ctx, a)
				return err
			})
			// Many aggregates, so that loads stay short as the run grows.
			const aggregates = 10_000
			ids := make([]string, aggregates)
			for i := range ids {
				ids[i] = strconv.Itoa(i)
			}
			ctx := context.Background()
			b.ReportAllocs()
			telemetrytest.Overhead(b, 100, func(i int) {
				if _, err := bus.Send(ctx, command.New(increment{ID: ids[i%aggregates]})); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
