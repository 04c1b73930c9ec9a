package aggregate_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// Order is an object-style aggregate: it embeds aggregate.Root, checks
// invariants in its methods and records events; Apply evolves its state.
type Order struct {
	aggregate.Root
	Status string `json:"status"`
	Lines  int    `json:"lines"`
}

type OrderPlaced struct {
	Lines int `json:"lines"`
}

type OrderShipped struct {
	Carrier string `json:"carrier"`
}

var ErrNotPlaced = errors.New("order: not placed")

func (o *Order) Place(lines int) error {
	if o.Status != "" {
		return errors.New("order: already placed")
	}
	aggregate.Record(o, OrderPlaced{Lines: lines})
	return nil
}

func (o *Order) Ship(carrier string) error {
	if o.Status != "placed" {
		return ErrNotPlaced
	}
	aggregate.Record(o, OrderShipped{Carrier: carrier})
	return nil
}

func (o *Order) Apply(e any) {
	switch e := e.(type) {
	case OrderPlaced:
		o.Status, o.Lines = "placed", e.Lines
	case OrderShipped:
		o.Status = "shipped"
	}
}

func Example() {
	ctx := context.Background()
	registry := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](registry, "OrderPlaced")
	eventstore.MustRegister[OrderShipped](registry, "OrderShipped")
	store := memory.New(memory.Config{})

	orders, err := aggregate.NewRepository(store, registry, aggregate.Config[*Order]{
		Type:           "order",
		Snapshots:      &aggregate.MemorySnapshots{},
		SnapshotPolicy: aggregate.EveryN(2),
	})
	if err != nil {
		panic(err)
	}

	// Create: a new aggregate at version 0.
	o, _ := orders.New("42")
	_ = o.Place(3)
	saved, _ := orders.Save(ctx, o)
	fmt.Printf("saved %s versions %d-%d\n", saved.Stream, saved.From, saved.To)

	// Two commands race on version 1: the second save is a conflict.
	a, _ := orders.Load(ctx, "42")
	b, _ := orders.Load(ctx, "42")
	_ = a.Ship("DHL")
	_ = b.Ship("UPS")
	_, _ = orders.Save(ctx, a)
	_, err = orders.Save(ctx, b)
	var conflict *eventstore.ConflictError
	if errors.As(err, &conflict) {
		fmt.Printf("conflict: expected %v, actual %d\n", conflict.Expected, conflict.Actual)
	}

	// Load uses the snapshot taken at version 2.
	o, _ = orders.Load(ctx, "42")
	fmt.Println("order 42:", o.Status, o.Lines, "lines, version", o.Version())

	_, err = orders.Load(ctx, "43")
	fmt.Println("order 43 missing:", errors.Is(err, aggregate.ErrNotFound))
	// Output:
	// saved order-42 versions 1-1
	// conflict: expected exactly 1, actual 2
	// order 42: shipped 3 lines, version 2
	// order 43 missing: true
}

func ExampleDecider() {
	ctx := context.Background()
	registry := eventstore.NewRegistry(nil)
	eventstore.MustRegister[Incremented](registry, "Incremented")
	counters, err := aggregate.NewRepository(memory.New(memory.Config{}), registry,
		aggregate.Config[*aggregate.State[Counter]]{Type: "counter", New: counterDecider.New})
	if err != nil {
		panic(err)
	}
	for _, by := range []int{2, 3} {
		res, _ := aggregate.Execute(ctx, counters, counterDecider, "c1", Increment{By: by})
		fmt.Println("appended version", res.To)
	}
	c, _ := counters.Load(ctx, "c1")
	fmt.Println("counter:", c.Value.N)
	// Output:
	// appended version 1
	// appended version 2
	// counter: 5
}
