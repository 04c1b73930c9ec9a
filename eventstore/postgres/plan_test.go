package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pgtest"
)

// TestAppendStatementsKeepGenericPlans guards what the append statements are
// shaped for (see statements.go): after PostgreSQL's first five custom
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
