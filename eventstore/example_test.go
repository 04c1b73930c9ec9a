package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
)

// Append events, lose a race with optimistic concurrency, and read the
// stream back.
func Example() {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	defer store.Close()

	res, err := store.Append(ctx, "order-1", eventstore.NoStream,
		eventstore.NewEvent("OrderPlaced", []byte(`{"total":42}`)),
		eventstore.NewEvent("OrderPaid", []byte(`{"amount":42}`)),
	)
	if err != nil {
		panic(err)
	}
	fmt.Println("order-1 is at version", res.Version)

	// A writer that loaded the order at version 1 is refused.
	_, err = store.Append(ctx, "order-1", eventstore.Exact(1), eventstore.NewEvent("OrderCancelled", nil))
	var conflict *eventstore.ConflictError
	if errors.As(err, &conflict) {
		fmt.Printf("conflict on %s: expected %v, actual version %d\n", conflict.Stream, conflict.Expected, conflict.Actual)
	}
	fmt.Println("is a conflict:", errors.Is(err, eventstore.ErrConcurrencyConflict), "retryable:", eventstore.IsRetryable(err))

	// Reload and retry with the actual version.
	if _, err := store.Append(ctx, "order-1", eventstore.Exact(conflict.Actual), eventstore.NewEvent("OrderCancelled", nil)); err != nil {
		panic(err)
	}
	for e, err := range store.ReadStream(ctx, "order-1", eventstore.ReadStreamOptions{}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.Version, e.Type, string(e.Data))
	}
	// Output:
	// order-1 is at version 2
	// conflict on order-1: expected exactly 1, actual version 2
	// is a conflict: true retryable: true
	// 1 OrderPlaced {"total":42}
	// 2 OrderPaid {"amount":42}
	// 3 OrderCancelled
}

// Retrying an append whose event IDs are already stored right after the
// expected version returns the original result and writes nothing.
func Example_idempotentRetry() {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	defer store.Close()

	placed := eventstore.NewEvent("OrderPlaced", []byte(`{"total":42}`))
	first, err := store.Append(ctx, "order-1", eventstore.NoStream, placed)
	if err != nil {
		panic(err)
	}
	// The caller timed out and does not know whether the append happened:
	// it sends the same event (same ID) again.
	retry, err := store.Append(ctx, "order-1", eventstore.NoStream, placed)
	fmt.Println(retry.Version == first.Version, retry.Positions[0] == first.Positions[0], err)

	// The same ID in another stream is a conflict, never a duplicate.
	_, err = store.Append(ctx, "order-2", eventstore.NoStream, placed)
	fmt.Println(errors.Is(err, eventstore.ErrDuplicateEventID), eventstore.IsRetryable(err))
	fmt.Println("events stored:", store.Len())
	// Output:
	// true true <nil>
	// true false
	// events stored: 1
}

// Subscribe catches up with what is stored, then follows new events live.
// Pass the last position handled as From to resume after a restart.
func Example_subscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New(memory.Config{})
	defer store.Close()

	if _, err := store.Append(ctx, "order-1", eventstore.NoStream, eventstore.NewEvent("OrderPlaced", nil)); err != nil {
		panic(err)
	}
	if _, err := store.Append(ctx, "cart-7", eventstore.NoStream, eventstore.NewEvent("ItemAdded", nil)); err != nil {
		panic(err)
	}

	var last eventstore.Position
	sub := store.Subscribe(ctx, eventstore.SubscribeOptions{
		Filter: eventstore.Filter{StreamPrefixes: []string{"order-"}},
	})
	for e, err := range sub {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.Position, e.StreamID, e.Version, e.Type)
		last = e.Position
		if e.Type == "OrderPlaced" {
			// Appended after the subscription caught up: delivered live.
			if _, err := store.Append(ctx, "order-1", eventstore.Exact(1), eventstore.NewEvent("OrderShipped", nil)); err != nil {
				panic(err)
			}
		}
		if e.Type == "OrderShipped" {
			break
		}
	}
	fmt.Println("checkpoint:", last)

	// A cancelled context ends a subscription with the context's error.
	cancel()
	for _, err := range store.Subscribe(ctx, eventstore.SubscribeOptions{From: last}) {
		fmt.Println(err)
	}
	// Output:
	// 1/1 order-1 1 OrderPlaced
	// 3/3 order-1 2 OrderShipped
	// checkpoint: 3/3
	// context canceled
}

type CustomerRegistered struct {
	CustomerID string `json:"customer_id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
}

// Register event types under stable names, encode values into events and
// decode what is read back, upcasting old payloads on the way.
func ExampleRegistry() {
	registry := eventstore.NewRegistry(nil) // JSON
	// Version 2 of the payload split "full_name" into "name"; the type was
	// once stored as "customer_created".
	eventstore.MustRegister[CustomerRegistered](registry, "CustomerRegistered",
		eventstore.SchemaVersion(2), eventstore.Aliases("customer_created"))
	err := registry.Upcast("CustomerRegistered", 1, func(data []byte, _ eventstore.Metadata) ([]byte, error) {
		var v1 map[string]any
		if err := json.Unmarshal(data, &v1); err != nil {
			return nil, err
		}
		v1["name"] = v1["full_name"]
		delete(v1, "full_name")
		return json.Marshal(v1)
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	store := memory.New(memory.Config{})
	defer store.Close()

	// An event written years ago by the old code...
	old := eventstore.Event{ID: eventstore.NewEventID(), Type: "customer_created",
		Data: []byte(`{"customer_id":"c-1","email":"ada@example.com","full_name":"Ada Lovelace"}`)}
	if _, err := store.Append(ctx, "customer-c-1", eventstore.NoStream, old); err != nil {
		panic(err)
	}
	// ...and one written now.
	current, err := registry.Encode(CustomerRegistered{CustomerID: "c-2", Email: "grace@example.com", Name: "Grace Hopper"},
		eventstore.Metadata{CorrelationID: "signup-9"})
	if err != nil {
		panic(err)
	}
	if _, err := store.Append(ctx, "customer-c-2", eventstore.NoStream, current); err != nil {
		panic(err)
	}

	for e, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			panic(err)
		}
		c, err := eventstore.Decode[CustomerRegistered](registry, e)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s (schema v%d): %s <%s>\n", e.Type, max(e.Metadata.SchemaVersion, 1), c.Name, c.Email)
	}

	// An event type nobody registered is an error naming the event.
	if _, err := store.Append(ctx, "customer-c-1", eventstore.Exact(1), eventstore.NewEvent("CustomerDeleted", []byte(`{}`))); err != nil {
		panic(err)
	}
	for e, err := range store.ReadStream(ctx, "customer-c-1", eventstore.ReadStreamOptions{From: 2}) {
		if err != nil {
			panic(err)
		}
		_, err = registry.Decode(e)
		fmt.Println(errors.Is(err, eventstore.ErrUnknownEventType), err)
	}
	// Output:
	// customer_created (schema v1): Ada Lovelace <ada@example.com>
	// CustomerRegistered (schema v2): Grace Hopper <grace@example.com>
	// true eventstore: unknown event type (stream "customer-c-1", version 2, type "CustomerDeleted")
}
