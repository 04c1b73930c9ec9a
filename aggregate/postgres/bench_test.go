package postgres_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	"github.com/chronicle-go/chronicle/eventstore"
)

type meter struct {
	aggregate.Root
	Total int `json:"total"`
}

type metered struct {
	N int `json:"n"`
}

type addReading struct {
	Meter string
	N     int
}

func (m *meter) Apply(e any) {
	if e, ok := e.(metered); ok {
		m.Total += e.N
	}
}

// aggregates is how many aggregates a benchmark rotates over: with
// -benchtime 200x each grows by 10 events during the run.
const aggregates = 20

// BenchmarkCommand measures one command round trip through the bus with the
// recommended middleware (metadata, idempotency, conflict retry): load the
// aggregate (from its snapshot when there is one), decide, append one event
// (and, when the policy says so, its snapshot in the same transaction).
func BenchmarkCommand(b *testing.B) {
	for _, size := range []int{10, 10_000} {
		for _, snapshots := range []bool{false, true} {
			name := fmt.Sprintf("events=%d/snapshots=", size)
			if snapshots {
				name += "every100"
			} else {
				name += "off"
			}
			b.Run(name, func(b *testing.B) { benchCommand(b, size, snapshots) })
		}
	}
}

func benchCommand(b *testing.B, size int, snapshots bool) {
	ctx := context.Background()
	events, snaps, _ := open(b)
	registry := eventstore.NewRegistry(nil)
	eventstore.MustRegister[metered](registry, "Metered")
	cfg := aggregate.Config[*meter]{Type: "meter"}
	if snapshots {
		cfg.Snapshots, cfg.SnapshotPolicy = snaps, aggregate.EveryN(100)
	}
	repo, err := aggregate.NewRepository(events, registry, cfg)
	if err != nil {
		b.Fatal(err)
	}
	for i := range aggregates {
		m, _ := repo.New(strconv.Itoa(i))
		for done := 0; done < size; {
			for j := 0; j < 1000 && done < size; j++ {
				aggregate.Record(m, metered{N: 1})
				done++
			}
			if _, err := repo.Save(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	}
	bus, err := command.NewBus(command.Config{Middleware: []command.Middleware{
		command.Metadata(), command.Idempotent(), command.RetryConflicts(command.RetryConfig{}),
	}})
	if err != nil {
		b.Fatal(err)
	}
	command.MustHandleFunc(bus, func(ctx context.Context, c addReading) error {
		m, err := repo.Load(ctx, c.Meter)
		if err != nil {
			return err
		}
		aggregate.Record(m, metered{N: c.N})
		_, err = repo.Save(ctx, m)
		return err
	})
	i := 0
	for b.Loop() {
		if _, err := bus.Send(ctx, command.New(addReading{Meter: strconv.Itoa(i % aggregates), N: 1})); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRawAppend is the event store's own append of one event with an
// exact expected version, the floor under a command round trip.
func BenchmarkRawAppend(b *testing.B) {
	ctx := context.Background()
	events, _, _ := open(b)
	registry := eventstore.NewRegistry(nil)
	eventstore.MustRegister[metered](registry, "Metered")
	var version uint64
	for b.Loop() {
		e, err := registry.Encode(metered{N: 1}, eventstore.Metadata{CausationID: "c", CorrelationID: "c"})
		if err != nil {
			b.Fatal(err)
		}
		res, err := events.Append(ctx, "meter-raw", eventstore.Exact(version), e)
		if err != nil {
			b.Fatal(err)
		}
		version = res.Version
	}
}
