package lag_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/internal/lag"
	"github.com/chronicle-go/chronicle/internal/unreadable"
)

func appendOne(t *testing.T, s eventstore.Store, stream, typ string) eventstore.Position {
	t.Helper()
	res, err := s.Append(context.Background(), stream, eventstore.Any, eventstore.NewEvent(typ, []byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	return res.Positions[0]
}

func TestHeadAndScan(t *testing.T) {
	ctx := context.Background()
	store := unreadable.Wrap(memory.New(memory.Config{}))
	if h, at, err := lag.Head(ctx, store); err != nil || !h.IsZero() || !at.IsZero() {
		t.Fatalf("head of an empty log: %v %v %v", h, at, err)
	}
	c, err := lag.Scan(ctx, store, eventstore.Position{}, eventstore.Filter{})
	if err != nil || c != (lag.Count{}) {
		t.Fatalf("scan of an empty log: %+v %v", c, err)
	}

	first := appendOne(t, store, "order-1", "OrderPlaced")
	time.Sleep(time.Millisecond) // distinct recording times
	appendOne(t, store, "cart-1", "ItemAdded")
	appendOne(t, store, "order-2", "OrderPlaced")
	last := appendOne(t, store, "order-1", "OrderShipped")
	h, at, err := lag.Head(ctx, store)
	if err != nil || h != last || at.IsZero() {
		t.Fatalf("head %v at %v (%v), want %v", h, at, err, last)
	}

	orders := eventstore.Filter{StreamPrefixes: []string{"order-"}}
	c, err = lag.Scan(ctx, store, eventstore.Position{}, orders)
	if err != nil || c.Events != 3 || c.AtLeast {
		t.Fatalf("scan from the start: %+v %v; want 3 order events, exact", c, err)
	}
	var firstAt time.Time
	for e, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		firstAt = e.RecordedAt
	}
	if !c.Oldest.Equal(firstAt) {
		t.Fatalf("oldest %v, want the first event's %v", c.Oldest, firstAt)
	}
	c, err = lag.Scan(ctx, store, first, eventstore.Filter{EventTypes: []string{"OrderPlaced"}})
	if err != nil || c.Events != 1 || c.AtLeast {
		t.Fatalf("scan after the first event: %+v %v; want 1", c, err)
	}

	// An event the store cannot return: counted when it passes the
	// filter, and the scan ends there (a lower bound).
	bad := appendOne(t, store, "order-3", "OrderPlaced")
	appendOne(t, store, "order-4", "OrderPlaced")
	store.Poison(bad, -1)
	c, err = lag.Scan(ctx, store, last, orders)
	if err != nil || c.Events != 1 || !c.AtLeast || !c.Oldest.IsZero() {
		t.Fatalf("scan reaching an unreadable event: %+v %v; want 1, a lower bound, no time", c, err)
	}
	c, err = lag.Scan(ctx, store, last, eventstore.Filter{StreamPrefixes: []string{"cart-"}})
	if err != nil || c.Events != 0 || !c.AtLeast {
		t.Fatalf("scan reaching an unreadable event it does not handle: %+v %v", c, err)
	}
}

func TestScanStopsAtTheLimit(t *testing.T) {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	for i := range lag.ScanLimit + 5 {
		appendOne(t, store, fmt.Sprintf("s-%d", i%7), "E")
	}
	c, err := lag.Scan(ctx, store, eventstore.Position{}, eventstore.Filter{})
	if err != nil || c.Events != lag.ScanLimit || !c.AtLeast {
		t.Fatalf("%+v %v; want %d events, a lower bound", c, err, lag.ScanLimit)
	}
}
