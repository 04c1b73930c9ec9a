package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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

// TestAppendTxCrossedStreams: two transactions append with AppendTx to two
// streams in opposite orders; each holds one stream's lock and waits for
// the other's, and PostgreSQL ends one with a deadlock. That one gets a
// retryable *eventstore.ConflictError (its transaction is aborted: run it
// again), not a plain error; the other commits.
func TestAppendTxCrossedStreams(t *testing.T) {
	s, pool, _ := newStore(t, pgtest.MaxConns(4))
	ctx := t.Context()
	txs := make([]pgx.Tx, 2)
	for i := range txs {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		txs[i] = tx
	}
	streams := []string{"crossed-a", "crossed-b"}
	for i, tx := range txs {
		if _, err := s.AppendTx(ctx, tx, streams[i], eventstore.NoStream, eventstore.NewEvent("E", []byte(`{}`))); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, tx := range txs {
		wg.Go(func() {
			_, errs[i] = s.AppendTx(ctx, tx, streams[1-i], eventstore.Any, eventstore.NewEvent("E", []byte(`{}`)))
		})
	}
	wg.Wait()
	var failed, ok int
	for i, err := range errs {
		switch ce, isConflict := errors.AsType[*eventstore.ConflictError](err); {
		case err == nil:
			ok++
			if err := txs[i].Commit(ctx); err != nil {
				t.Fatalf("the survivor's commit: %v", err)
			}
		case isConflict && ce.Retry && eventstore.IsRetryable(err):
			failed++
		default:
			t.Fatalf("transaction %d: %v, want nil or a retryable conflict", i, err)
		}
	}
	if ok != 1 || failed != 1 {
		t.Fatalf("%d appended, %d retryable conflicts; want one of each (%v)", ok, failed, errs)
	}
}
