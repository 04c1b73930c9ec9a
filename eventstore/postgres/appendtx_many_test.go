package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgtest"
)

// TestManyAppendTxInOneTransaction: an AppendTx costs the same whether its
// transaction has appended a few events or thousands. append_events makes
// the Reanchor check on every call: the highest stored transaction id, not
// counting the caller's own. Written as a filter (transaction_id <> own),
// the check walked back over every row the transaction had appended so far,
// all at the end of the global order index, so n AppendTx calls in one
// transaction cost O(n²) (1,000 single-event appends: 384 µs each against
// 238 µs at 100). Counted without a clock: the heap rows the events
// table's index scans fetch in this transaction (pg_stat_xact_user_tables)
// for one more AppendTx, after 2,000 of them.
func TestManyAppendTxInOneTransaction(t *testing.T) {
	s, pool, _ := newStore(t, pgtest.MaxConns(2))
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	const n = 2000
	res := make([]eventstore.AppendResult, 0, n+1)
	appendOne := func(i int) {
		t.Helper()
		r, err := s.AppendTx(ctx, tx, fmt.Sprintf("many-tx-%d", i), eventstore.NoStream, eventstore.NewEvent("Many", []byte(`{}`)))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	fetched := func() int64 {
		t.Helper()
		var f int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables
			WHERE schemaname = current_schema() AND relname = 'events'`).Scan(&f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for i := range n {
		appendOne(i)
	}
	before := fetched()
	appendOne(n)
	if got := fetched() - before; got > 50 {
		t.Errorf("one AppendTx after %d in the same transaction fetched %d rows through index scans, want a handful", n, got)
	}
	if err := s.CommitTx(ctx, tx, res...); err != nil {
		t.Fatal(err)
	}
	var count int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id LIKE 'many-tx-%'`).Scan(&count); err != nil || count != n+1 {
		t.Fatalf("%d events committed (%v), want %d", count, err, n+1)
	}
}
