package postgres_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/google/uuid"
)

// TestCrossedEventIDs: two appends of the same event IDs, in opposite
// orders, to two new streams at once. Each inserts its events one by one
// and may wait at the event ID index for the other, which waits for it:
// PostgreSQL ends one with a deadlock error. The contract has exactly one
// succeed and the other get a *eventstore.ConflictError naming an event
// ID, never a plain error (it was one, "deadlock detected", within the
// first ten rounds here).
func TestCrossedEventIDs(t *testing.T) {
	s, _, _ := newStore(t, pgtest.MaxConns(4))
	ctx := t.Context()
	for round := range 100 {
		evs := make([]eventstore.Event, 10)
		for i := range evs {
			evs[i] = eventstore.NewEvent("E", []byte(`{}`))
		}
		crossed := slices.Clone(evs)
		slices.Reverse(crossed)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		wg.Go(func() { _, errs[0] = s.Append(ctx, fmt.Sprintf("x-%d", round), eventstore.NoStream, evs...) })
		wg.Go(func() { _, errs[1] = s.Append(ctx, fmt.Sprintf("y-%d", round), eventstore.Any, crossed...) })
		wg.Wait()
		won := 0
		for _, err := range errs {
			var ce *eventstore.ConflictError
			switch {
			case err == nil:
				won++
			case errors.As(err, &ce) && ce.EventID != uuid.Nil:
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d appends succeeded: %v", round, won, errs)
		}
	}
}
