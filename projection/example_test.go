package projection_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/projection"
)

type ItemAdded struct {
	Cart string `json:"cart"`
	SKU  string `json:"sku"`
	Qty  int    `json:"qty"`
}

type ItemRemoved struct {
	Cart string `json:"cart"`
	SKU  string `json:"sku"`
}

// An in-memory read model of item counts per cart, kept by a runner on the
// memory event store, then rebuilt from the log.
func Example() {
	ctx := context.Background()
	registry := eventstore.NewRegistry(nil)
	eventstore.MustRegister[ItemAdded](registry, "ItemAdded")
	eventstore.MustRegister[ItemRemoved](registry, "ItemRemoved")
	store := memory.New(memory.Config{})

	checkpoints := projection.NewMemoryStore()
	items := projection.NewTable[string, int](checkpoints) // cart → items

	p := projection.New[*projection.MemoryTx]("cart_items", registry)
	projection.On(p, func(ctx context.Context, tx *projection.MemoryTx, e ItemAdded, _ eventstore.RecordedEvent) error {
		n, _ := items.GetTx(tx, e.Cart)
		items.Put(tx, e.Cart, n+e.Qty)
		return nil
	})
	projection.On(p, func(ctx context.Context, tx *projection.MemoryTx, e ItemRemoved, _ eventstore.RecordedEvent) error {
		n, _ := items.GetTx(tx, e.Cart)
		items.Put(tx, e.Cart, n-1)
		return nil
	})
	p.OnReset(func(ctx context.Context, tx *projection.MemoryTx) error {
		items.Clear(tx)
		return nil
	})

	for _, v := range []any{ItemAdded{"c1", "apple", 3}, ItemAdded{"c1", "pear", 1}, ItemRemoved{"c1", "pear"}, ItemAdded{"c2", "fig", 2}} {
		e, _ := registry.Encode(v, eventstore.Metadata{})
		if _, err := store.Append(ctx, "carts", eventstore.Any, e); err != nil {
			panic(err)
		}
	}

	runner, err := projection.NewRunner(store, checkpoints, projection.Config{}, p)
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); runner.Run(runCtx) }()

	for deadline := time.Now().Add(30 * time.Second); items.Len() < 2; time.Sleep(time.Millisecond) { // wait for the catch-up
		if time.Now().After(deadline) {
			panic("the runner did not catch up within 30s")
		}
	}
	c1, _ := items.Get("c1")
	c2, _ := items.Get("c2")
	fmt.Println("live:", c1, c2)

	err = runner.Rebuild(ctx, "cart_items", projection.RebuildOptions{Progress: func(pr projection.Progress) {
		if pr.Done {
			fmt.Println("rebuilt", pr.Events, "events up to", pr.Position)
		}
	}})
	if err != nil {
		panic(err)
	}
	c1, _ = items.Get("c1")
	c2, _ = items.Get("c2")
	fmt.Println("rebuilt:", c1, c2)

	st, _ := runner.Status(ctx)
	fmt.Println(st[0].Name, st[0].State, "checkpoint", st[0].Checkpoint, "head", st[0].Head, "lag", st[0].LagEvents)
	stop()
	<-done
	// Output:
	// live: 3 2
	// rebuilt 4 events up to 4/4
	// rebuilt: 3 2
	// cart_items running checkpoint 4/4 head 4/4 lag 0
}
