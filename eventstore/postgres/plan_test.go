package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestAppendStatementsKeepGenericPlans guards what the append statements are
// shaped for (see sql/append_one.sql): after PostgreSQL's first five custom
// plans, each settles on its generic plan instead of being planned again on
// every call. A statement that loses this still passes every other test;
// it only gets slower (re-planning cost up to a quarter of an append, and
// the first single-statement append, planned every call, ran at 0.7 of the
// raw baseline). One connection, so that every append prepares and runs its
// statement where pg_prepared_statements can see it.
func TestAppendStatementsKeepGenericPlans(t *testing.T) {
	s, pool, _ := newStore(t, pgtest.MaxConns(1))
	ctx := context.Background()
	const calls = 12
	sizes := []int{1, 3, 12} // appendOne, appendMany, appendBatch
	for _, n := range sizes {
		for range calls {
			evs := make([]eventstore.Event, n)
			for i := range evs {
				evs[i] = eventstore.Event{Type: "Planned", Data: []byte(`{"n":1}`)}
			}
			if _, err := s.Append(ctx, fmt.Sprintf("plan-%d", n), eventstore.Any, evs...); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows, err := pool.Query(ctx, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement LIKE '/* chronicle.append */%' ORDER BY prepare_time`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var statement string
		var generic, custom int64
		if err := rows.Scan(&statement, &generic, &custom); err != nil {
			t.Fatal(err)
		}
		seen++
		kind := "appendOne"
		switch {
		case strings.Contains(statement, "OFFSET 0"):
			kind = "appendMany"
		case strings.Contains(statement, "unnest("):
			kind = "appendBatch"
		}
		if custom > 5 || generic < calls-5 {
			t.Errorf("%s: %d generic and %d custom plans after %d calls, want at most 5 custom (planned again on every call?):\n%s",
				kind, generic, custom, calls, statement)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(sizes) {
		t.Fatalf("%d append statements prepared on the connection, want %d", seen, len(sizes))
	}
}

// TestAppendsDoNotScanTheLog: no append reads the events table from end to
// end — the single statement (one, three and twelve events), the read-only
// check after a refused append, append_events (an idempotent retry,
// AppendTx) and Import. The check for a store that needs Reanchor was first
// written as EXISTS (... transaction_id >= xmax), which the planner ran as
// a scan of the whole table: every append then took as long as the log was
// long, and this test failed. One connection, so that its statistics can be
// flushed on demand (pg_stat_force_next_flush).
func TestAppendsDoNotScanTheLog(t *testing.T) {
	s, pool, _ := newStore(t, pgtest.MaxConns(1))
	ctx := context.Background()
	for i := range 20 {
		if _, err := s.Append(ctx, fmt.Sprintf("fill-%d", i%5), eventstore.Any, numbered(200)...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	seqScans := func() int64 {
		t.Helper()
		// Flush this connection's counters, then read them in a new
		// transaction.
		if _, err := pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `SELECT 1`); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := pool.QueryRow(ctx, `SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'events'::regclass`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := seqScans()
	for i, n := range []int{1, 3, 12, 1} {
		if _, err := s.Append(ctx, "scan", eventstore.Exact(uint64(i*100)), numbered(n)...); err == nil && i > 0 {
			t.Fatal("an append at a stale version went through")
		}
		if _, err := s.Append(ctx, "scan", eventstore.Any, numbered(n)...); err != nil {
			t.Fatal(err)
		}
	}
	retry := numbered(2)
	for range 2 {
		if _, err := s.Append(ctx, "scan-retry", eventstore.NoStream, retry...); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.AppendTx(ctx, tx, "scan-tx", eventstore.NoStream, numbered(2)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx, "scan-tx", eventstore.Exact(2), numbered(1)...); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitTx(ctx, tx, res); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, []eventstore.RecordedEvent{{StreamID: "scan-import", Version: 1, Event: eventstore.NewEvent("I", nil)}}); err != nil {
		t.Fatal(err)
	}
	if after := seqScans(); after != before {
		t.Fatalf("the appends scanned the events table %d times", after-before)
	}
}

// TestRacingAppendsKeepGenericPlans is the conflict-heavy case of
// TestAppendStatementsKeepGenericPlans: 8 goroutines race to append to one
// stream, each with the version it last saw, so most appends lose. pgx
// drops a cached prepared statement whenever it returns an error, so a lost
// race that surfaces as a statement error (a unique violation) makes the
// next append on that connection prepare the statement again, with five
// more custom plans (measured before the fix: 114 plans counted on the 8
// connections for 402 appends, 38 of them custom). A lost race must not be
// a statement error: every append's statement stays prepared, so the plans
// the connections count add up to the appends, at most 5 custom each.
func TestRacingAppendsKeepGenericPlans(t *testing.T) {
	for _, n := range []int{1, 3, 12} { // appendOne, appendMany, appendBatch
		t.Run(fmt.Sprintf("%d events", n), func(t *testing.T) { raceKeepsPlans(t, n) })
	}
}

func raceKeepsPlans(t *testing.T, events int) {
	const writers = 8
	s, pool, _ := newStore(t, pgtest.MaxConns(writers))
	ctx := context.Background()
	const wins = 25 // successful appends per writer
	var wg sync.WaitGroup
	var conflicts, calls atomic.Int64
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			var seen uint64
			for won := 0; won < wins; {
				calls.Add(1)
				evs := make([]eventstore.Event, events)
				for i := range evs {
					evs[i] = eventstore.Event{Type: "Raced", Data: []byte(`{}`)}
				}
				res, err := s.Append(ctx, "race", eventstore.Exact(seen), evs...)
				var ce *eventstore.ConflictError
				switch {
				case err == nil:
					seen = res.Version
					won++
				case errors.As(err, &ce):
					conflicts.Add(1)
					seen = ce.Actual
				default:
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if conflicts.Load() == 0 {
		t.Skip("no append lost a race: nothing to check")
	}
	// Each connection's own prepared statements: hold all of the pool's
	// connections (waiting for one that a wake-up NOTIFY may still use).
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range writers {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var generic, custom, prepared int64
	for _, c := range conns {
		var g, cu, n int64
		if err := c.QueryRow(ctx, `SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0), count(*) FROM pg_prepared_statements
			WHERE statement LIKE '/* chronicle.append */%'`).Scan(&g, &cu, &n); err != nil {
			t.Fatal(err)
		}
		generic, custom, prepared = generic+g, custom+cu, prepared+n
	}
	t.Logf("%d appends, %d conflicts; on %d connections, %d append statements prepared: %d generic, %d custom plans",
		calls.Load(), conflicts.Load(), len(conns), prepared, generic, custom)
	if generic+custom != calls.Load() {
		t.Errorf("%d plans counted by %d prepared statements for %d appends on %d connections: a lost race prepared the statement again",
			generic+custom, prepared, calls.Load(), len(conns))
	}
	if custom > 5*prepared {
		t.Errorf("%d custom plans for %d prepared append statements (at most 5 each)", custom, prepared)
	}
}

// planCount is what pg_prepared_statements counts for the statements whose
// text matches a LIKE pattern, summed over every connection of a pool.
type planCount struct{ generic, custom, prepared int64 }

// countPlans holds all n connections of pool (waiting for one that a
// wake-up NOTIFY may still use) and sums their plans of each pattern.
func countPlans(t *testing.T, pool *pgxpool.Pool, n int, patterns ...string) []planCount {
	t.Helper()
	ctx := context.Background()
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	counts := make([]planCount, len(patterns))
	for _, c := range conns {
		for i, p := range patterns {
			var g, cu, k int64
			if err := c.QueryRow(ctx, `SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0), count(*) FROM pg_prepared_statements
				WHERE statement LIKE $1`, p).Scan(&g, &cu, &k); err != nil {
				t.Fatal(err)
			}
			counts[i].generic += g
			counts[i].custom += cu
			counts[i].prepared += k
		}
	}
	return counts
}

const (
	singleStatements = "/* chronicle.append */%"
	functionCalls    = "%.append_events(%"
)

// TestIdempotentRetriesKeepGenericPlans: an idempotent retry (Any, so the
// single statement computes a version nobody holds) and the same event ID
// sent to another stream meet the event ID's unique index. The single
// statement writes nothing then, and append_events tells a retry from a
// conflict, neither with a statement error: every statement stays
// prepared, so the plans counted add up to the calls (before, each such
// append failed the single statement with a unique violation and the next
// append on that connection prepared it again). Each round of a writer:
// a new event (one single statement), its retry (single statement, then
// the function: the original result) and the same event in another stream
// (single statement, then the function: a conflict naming the ID).
func TestIdempotentRetriesKeepGenericPlans(t *testing.T) {
	const writers, rounds = 4, 12
	s, pool, _ := newStore(t, pgtest.MaxConns(writers))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("retry-%d", w)
			for range rounds {
				ev := eventstore.NewEvent("Retried", []byte(`{}`))
				ev.ID = eventstore.NewEventID()
				first, err := s.Append(ctx, stream, eventstore.Any, ev)
				if err != nil {
					errs <- err
					return
				}
				again, err := s.Append(ctx, stream, eventstore.Any, ev)
				if err != nil || again.Version != first.Version || again.Positions[0] != first.Positions[0] {
					errs <- fmt.Errorf("retry: %+v, %v; want the original %+v", again, err, first)
					return
				}
				_, err = s.Append(ctx, stream+"-other", eventstore.Any, ev)
				if ce, ok := errors.AsType[*eventstore.ConflictError](err); !ok || ce.EventID != ev.ID {
					errs <- fmt.Errorf("the same ID in another stream: %v, want a conflict naming it", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := countPlans(t, pool, writers, singleStatements, functionCalls)
	t.Logf("single statement: %+v; append_events: %+v", c[0], c[1])
	if got, want := c[0].generic+c[0].custom, int64(3*writers*rounds); got != want {
		t.Errorf("single statement: %d plans for %d calls: a retry or a conflict prepared it again", got, want)
	}
	if got, want := c[1].generic+c[1].custom, int64(2*writers*rounds); got != want {
		t.Errorf("append_events: %d plans for %d calls: a retry or a conflict prepared it again", got, want)
	}
	for i, k := range c {
		if k.custom > 5*k.prepared {
			t.Errorf("statement %d: %d custom plans for %d prepared (at most 5 each)", i, k.custom, k.prepared)
		}
	}
}

// TestRacingAppendTxKeepsPlansAndTransactions: pairs of writers append the
// same event IDs at the same moment with AppendTx, each into its own
// stream, each in its own transaction: one of each pair stores the ID, the
// other gets a conflict naming it — from the function's ID check, or, when
// both passed it before either committed, from its insert, which waits for
// the winner and, since migration 5, skips the row and looks again instead
// of failing with a unique violation. Either way the loser's transaction
// stays usable (before, a race lost at the insert aborted it), and no call
// prepares the function's statement again: the plans counted add up to the
// calls.
func TestRacingAppendTxKeepsPlansAndTransactions(t *testing.T) {
	const pairs, rounds = 4, 20
	s, pool, _ := newStore(t, pgtest.MaxConns(2*pairs))
	ctx := context.Background()
	ids := make([][]uuid.UUID, pairs)
	for p := range ids {
		for range rounds {
			ids[p] = append(ids[p], eventstore.NewEventID())
		}
	}
	var wg sync.WaitGroup
	var won, lost atomic.Int64
	errs := make(chan error, 2*pairs)
	for w := range 2 * pairs {
		wg.Go(func() {
			stream := fmt.Sprintf("tx-%d", w)
			for _, id := range ids[w/2] {
				tx, err := pool.Begin(ctx)
				if err != nil {
					errs <- err
					return
				}
				ev := eventstore.NewEvent("Raced", []byte(`{}`))
				ev.ID = id
				res, err := s.AppendTx(ctx, tx, stream, eventstore.Any, ev)
				if err == nil {
					if err := s.CommitTx(ctx, tx, res); err != nil {
						errs <- err
						return
					}
					won.Add(1)
					continue
				}
				if ce, ok := errors.AsType[*eventstore.ConflictError](err); !ok || ce.EventID != id || ce.Retry {
					tx.Rollback(ctx)
					errs <- fmt.Errorf("the pair's loser: %v, want a conflict naming %v", err, id)
					return
				}
				if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
					tx.Rollback(ctx)
					errs <- fmt.Errorf("the loser's transaction after the conflict: %w", err)
					return
				}
				if err := tx.Rollback(ctx); err != nil {
					errs <- err
					return
				}
				lost.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if won.Load() != pairs*rounds || lost.Load() != pairs*rounds {
		t.Fatalf("%d stored and %d refused, want %d each", won.Load(), lost.Load(), pairs*rounds)
	}
	c := countPlans(t, pool, 2*pairs, functionCalls)
	t.Logf("append_events: %+v", c[0])
	if got, want := c[0].generic+c[0].custom, int64(2*pairs*rounds); got != want {
		t.Errorf("append_events: %d plans for %d calls: a lost race prepared it again", got, want)
	}
	if c[0].custom > 5*c[0].prepared {
		t.Errorf("append_events: %d custom plans for %d prepared (at most 5 each)", c[0].custom, c[0].prepared)
	}
}

// TestRacingAnyAppendsKeepGenericPlans: 8 goroutines append with Any to one
// stream. A single statement that loses the race writes nothing and the
// append goes on to append_events, queued on the stream's lock; neither
// statement fails, so neither is prepared again: the single statement's
// plans add up to the appends, and the function statement's to the
// function's calls, as PostgreSQL counts them (track_functions).
func TestRacingAnyAppendsKeepGenericPlans(t *testing.T) {
	const writers, appends = 8, 25
	s, pool, schema := newStore(t, pgtest.MaxConns(writers), func(c *pgxpool.Config) {
		c.ConnConfig.RuntimeParams["track_functions"] = "pl"
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for range appends {
				if _, err := s.Append(ctx, "any-race", eventstore.Any, eventstore.NewEvent("Raced", []byte(`{}`))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each connection flushes its function counts when it next goes idle.
	var conns []*pgxpool.Conn
	for range writers {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, `SELECT 1`); err != nil {
			t.Fatal(err)
		}
	}
	var calls int64
	err := conns[0].QueryRow(ctx, `SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE schemaname = $1 AND funcname = 'append_events'`, schema).Scan(&calls)
	for _, c := range conns {
		c.Release()
	}
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Skip("no append lost a race: nothing to check")
	}
	c := countPlans(t, pool, writers, singleStatements, functionCalls)
	t.Logf("%d appends, %d append_events calls; single statement: %+v; append_events: %+v", writers*appends, calls, c[0], c[1])
	if got, want := c[0].generic+c[0].custom, int64(writers*appends); got != want {
		t.Errorf("single statement: %d plans for %d calls: a lost race prepared it again", got, want)
	}
	if got := c[1].generic + c[1].custom; got != calls {
		t.Errorf("append_events: %d plans for %d calls: a call prepared it again", got, calls)
	}
}
