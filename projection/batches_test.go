package projection_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/projection"
)

func TestBatchesKeepOrderAndSize(t *testing.T) {
	store := memory.New(memory.Config{})
	for i := range 1000 {
		if _, err := store.Append(context.Background(), fmt.Sprintf("s-%d", i%3), eventstore.Any,
			eventstore.NewEvent([]string{"A", "B"}[i%2], []byte(`{}`))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []eventstore.RecordedEvent
	for batch, err := range projection.Batches(ctx, store, eventstore.Position{Commit: 10, Prepare: 10}, eventstore.Filter{EventTypes: []string{"A"}}, 64) {
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 || len(batch) > 64 {
			t.Fatalf("batch of %d", len(batch))
		}
		got = append(got, batch...)
		if len(got) >= 495 {
			break
		}
	}
	if len(got) != 495 {
		t.Fatalf("%d events, want 495", len(got))
	}
	for i, e := range got {
		// Type A is at log indexes 0, 2, 4...: positions 1, 3, 5...; after 10 the first is 11.
		if want := uint64(11 + 2*i); e.Position.Commit != want || e.Type != "A" {
			t.Fatalf("event %d at %v type %s, want position %d type A", i, e.Position, e.Type, want)
		}
	}
}

func TestBatchesEndWithTheContext(t *testing.T) {
	store := memory.New(memory.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := store.Append(ctx, "s", eventstore.Any, eventstore.NewEvent("A", []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	n := 0
	var last error
	for batch, err := range projection.Batches(ctx, store, eventstore.Start, eventstore.Filter{}, 10) {
		if err != nil {
			last = err
			continue
		}
		n += len(batch)
		cancel() // the live wait ends with the context
	}
	if n != 1 || last != context.Canceled {
		t.Fatalf("n=%d err=%v, want 1 event then context.Canceled", n, last)
	}
}
