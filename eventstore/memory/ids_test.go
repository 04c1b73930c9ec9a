package memory

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
)

// collidingID returns an ID other than id with the same folded key.
func collidingID(id uuid.UUID) uuid.UUID {
	c := id
	for i := range 8 {
		c[i] ^= 0x5a
		c[i+8] ^= 0x5a
	}
	return c
}

// Two IDs sharing the index's 64-bit key are still two IDs: each is found
// as itself, neither is mistaken for the other, and the store treats them
// as unrelated events.
func TestIDIndexCollisions(t *testing.T) {
	a := uuid.Must(uuid.NewV7())
	b := collidingID(a)
	if a == b || foldID(a) != foldID(b) {
		t.Fatalf("collidingID: %v and %v do not collide", a, b)
	}
	ctx := context.Background()
	s := New(Config{})
	payload := []byte(`{"n":1}`)
	ev := func(id uuid.UUID) eventstore.Event {
		e := eventstore.NewEvent("Happened", payload)
		e.ID = id
		return e
	}
	if _, err := s.Append(ctx, "s-a", eventstore.NoStream, ev(a)); err != nil {
		t.Fatal(err)
	}
	// b is not a: appending it elsewhere is a new event, not a conflict.
	if _, err := s.Append(ctx, "s-b", eventstore.NoStream, ev(b)); err != nil {
		t.Fatalf("append of a colliding but different ID: %v", err)
	}
	if n := len(s.ids.overflow); n != 1 {
		t.Fatalf("overflow holds %d IDs, want 1", n)
	}
	// Each is found as itself: a retry of either is idempotent ...
	for _, c := range []struct {
		stream string
		id     uuid.UUID
	}{{"s-a", a}, {"s-b", b}} {
		res, err := s.Append(ctx, c.stream, eventstore.NoStream, ev(c.id))
		if err != nil || res.Version != 1 {
			t.Fatalf("retry of %s on %s: version %d, %v; want an idempotent success", c.id, c.stream, res.Version, err)
		}
	}
	// ... and either one anywhere else is a conflict naming it.
	for _, c := range []struct {
		stream string
		id     uuid.UUID
	}{{"s-c", a}, {"s-c", b}} {
		_, err := s.Append(ctx, c.stream, eventstore.Any, ev(c.id))
		var ce *eventstore.ConflictError
		if !errors.As(err, &ce) || ce.EventID != c.id {
			t.Fatalf("append of stored ID %s to %s: %v; want a conflict on that ID", c.id, c.stream, err)
		}
	}
	if got := s.Len(); got != 2 {
		t.Fatalf("log holds %d events, want 2", got)
	}
	// A third ID under the same key, in one append with a fresh one.
	c := b
	c[0] ^= 0x01
	c[8] ^= 0x01
	if foldID(c) != foldID(a) {
		t.Fatal("third ID does not collide")
	}
	fresh := uuid.Must(uuid.NewV7())
	if _, err := s.Append(ctx, "s-d", eventstore.NoStream, ev(fresh), ev(c)); err != nil {
		t.Fatal(err)
	}
	for i, id := range []uuid.UUID{a, b, fresh, c} {
		idx, ok := s.ids.lookup(id, &s.log)
		if !ok || s.log.at(idx).id != id {
			t.Fatalf("ID %d (%s) not found as itself", i, id)
		}
	}
}
