// Command quickstart shows chronicle's event store on the embedded default
// (the in-memory store, no server needed): typed events through a registry,
// optimistic concurrency, an idempotent retry, and a live subscription that
// keeps a read model up to date.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// The domain's events: plain structs registered under stable names.
type (
	OrderPlaced struct {
		OrderID string `json:"order_id"`
		Amount  int64  `json:"amount_cents"`
	}
	OrderPaid struct {
		OrderID string `json:"order_id"`
	}
	OrderShipped struct {
		OrderID string `json:"order_id"`
		Carrier string `json:"carrier"`
	}
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	reg := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](reg, "OrderPlaced")
	eventstore.MustRegister[OrderPaid](reg, "OrderPaid")
	eventstore.MustRegister[OrderShipped](reg, "OrderShipped")

	store := memory.New(memory.Config{})
	defer store.Close()

	// A read model fed by a live subscription: order status by ID.
	view := &statusView{status: map[string]string{}}
	view.cond = sync.NewCond(&view.mu)
	subCtx, stopSub := context.WithCancel(ctx)
	defer stopSub()
	var subErr error
	var wg sync.WaitGroup
	wg.Go(func() { subErr = view.follow(subCtx, store, reg) })

	orders := []struct {
		id      string
		amount  int64
		paid    bool
		carrier string
	}{
		{"order-1001", 4200, true, "DHL"},
		{"order-1002", 990, true, ""},
		{"order-1003", 15000, false, ""},
	}
	var last eventstore.Position
	for _, o := range orders {
		stream := o.id
		placed, err := reg.Encode(OrderPlaced{OrderID: o.id, Amount: o.amount}, eventstore.Metadata{CorrelationID: o.id})
		if err != nil {
			return err
		}
		res, err := store.Append(ctx, stream, eventstore.NoStream, placed)
		if err != nil {
			return err
		}
		// A retry of the very same append (a lost reply, say) writes nothing.
		again, err := store.Append(ctx, stream, eventstore.NoStream, placed)
		if err != nil || again.Version != res.Version {
			return fmt.Errorf("idempotent retry: %v", err)
		}
		version := res.Version
		if o.paid {
			paid, _ := reg.Encode(OrderPaid{OrderID: o.id}, eventstore.Metadata{CorrelationID: o.id})
			res, err = store.Append(ctx, stream, eventstore.Exact(version), paid)
			if err != nil {
				return err
			}
			version = res.Version
		}
		if o.carrier != "" {
			shipped, _ := reg.Encode(OrderShipped{OrderID: o.id, Carrier: o.carrier}, eventstore.Metadata{CorrelationID: o.id})
			if res, err = store.Append(ctx, stream, eventstore.Exact(version), shipped); err != nil {
				return err
			}
		}
		last = res.Positions[len(res.Positions)-1]
	}

	// Optimistic concurrency: a writer that loaded version 1 of order-1001
	// loses to the writes that happened since.
	paid, _ := reg.Encode(OrderPaid{OrderID: "order-1001"}, eventstore.Metadata{})
	_, err := store.Append(ctx, "order-1001", eventstore.Exact(1), paid)
	var conflict *eventstore.ConflictError
	if errors.As(err, &conflict) {
		fmt.Printf("conflict: stream %s expected %v but is at version %d\n", conflict.Stream, conflict.Expected, conflict.Actual)
	} else {
		return fmt.Errorf("expected a conflict, got %v", err)
	}

	// Read one stream back, decoding each event into its Go type.
	fmt.Println("order-1001 history:")
	for e, err := range store.ReadStream(ctx, "order-1001", eventstore.ReadStreamOptions{}) {
		if err != nil {
			return err
		}
		v, err := reg.Decode(e)
		if err != nil {
			return err
		}
		fmt.Printf("  v%d %-12s %+v\n", e.Version, e.Type, v)
	}

	view.waitFor(last)
	stopSub()
	wg.Wait()
	if subErr != nil && !errors.Is(subErr, context.Canceled) {
		return subErr
	}
	fmt.Println("read model (order status):")
	for _, line := range view.lines() {
		fmt.Println("  " + line)
	}
	fmt.Printf("%d events in the log\n", store.Len())
	return nil
}

// statusView is a tiny in-memory read model.
type statusView struct {
	mu     sync.Mutex
	cond   *sync.Cond
	status map[string]string
	at     eventstore.Position
	done   bool // the subscription ended
}

func (v *statusView) follow(ctx context.Context, store eventstore.Store, reg *eventstore.Registry) error {
	defer func() {
		v.mu.Lock()
		v.done = true
		v.cond.Broadcast()
		v.mu.Unlock()
	}()
	for e, err := range store.Subscribe(ctx, eventstore.SubscribeOptions{
		Filter: eventstore.Filter{StreamPrefixes: []string{"order-"}},
	}) {
		if err != nil {
			return err
		}
		ev, err := reg.Decode(e)
		if err != nil {
			return err
		}
		v.mu.Lock()
		switch ev := ev.(type) {
		case OrderPlaced:
			v.status[ev.OrderID] = fmt.Sprintf("placed (%d.%02d)", ev.Amount/100, ev.Amount%100)
		case OrderPaid:
			v.status[ev.OrderID] = "paid"
		case OrderShipped:
			v.status[ev.OrderID] = "shipped with " + ev.Carrier
		}
		v.at = e.Position
		v.cond.Broadcast()
		v.mu.Unlock()
	}
	return nil
}

func (v *statusView) waitFor(p eventstore.Position) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for v.at.Before(p) && !v.done {
		v.cond.Wait()
	}
}

func (v *statusView) lines() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for id, s := range v.status {
		out = append(out, id+": "+s)
	}
	sort.Strings(out)
	return out
}
