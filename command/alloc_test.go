package command_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/telemetry"
)

// Without an OpenTelemetry SDK, the instrumentation of a command round trip
// (bus, repository load and save, store read and append) allocates
// nothing: the same allocations per command as with it switched off.
func TestInstrumentationAllocatesNothingWithoutAnSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations")
	}
	store := memory.New(memory.Config{})
	defer store.Close()
	registry := eventstore.NewRegistry(nil)
	eventstore.MustRegister[incremented](registry, "Incremented")
	repo, err := aggregate.NewRepository(store, registry, aggregate.Config[*counted]{Type: "counter"})
	if err != nil {
		t.Fatal(err)
	}
	bus := newBus(t, command.Config{Middleware: []command.Middleware{
		command.Metadata(), command.Idempotent(), command.RetryConflicts(command.RetryConfig{}),
	}})
	command.MustHandleFunc(bus, func(ctx context.Context, c increment) error {
		a, err := repo.LoadOrNew(ctx, c.ID)
		if err != nil {
			return err
		}
		aggregate.Record(a, incremented{})
		_, err = repo.Save(ctx, a)
		return err
	})
	ctx := context.Background()
	ids := make([]string, 10_000) // made beforehand: strconv allocates for some numbers, not others
	for i := range ids {
		ids[i] = "id-" + strconv.Itoa(i)
	}
	i := 0
	send := func() {
		i++
		// A new aggregate each time: every command reads and writes the
		// same amount, however long the test runs.
		if _, err := bus.Send(ctx, command.New(increment{ID: ids[i]})); err != nil {
			t.Fatal(err)
		}
	}
	appendOne := func() {
		i++
		if _, err := store.Append(ctx, ids[i%100], eventstore.Any, eventstore.Event{ID: eventstore.NewEventID(), Type: "X"}); err != nil {
			t.Fatal(err)
		}
	}
	defer telemetry.SetOff(false)
	for name, op := range map[string]func(){"command": send, "append": appendOne} {
		// The store's blocks grow now and then: take the least of a few
		// measurements of each, alternating.
		least := [2]float64{1e9, 1e9}
		for round := range 10 {
			mode := round % 2
			telemetry.SetOff(mode == 0)
			least[mode] = min(least[mode], testing.AllocsPerRun(200, op))
		}
		if least[1] > least[0] {
			t.Errorf("%s: %v allocations instrumented without an SDK, %v with the instrumentation off", name, least[1], least[0])
		}
	}
}
