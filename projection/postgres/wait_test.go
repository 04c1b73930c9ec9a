package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/projection"
)

// Read your writes on PostgreSQL under concurrent appends, through a
// runner that does not own the projection (a standby, as in another
// process): WaitFor reads the checkpoint the owner commits, and every
// writer then finds its event in the read model.
func TestWaitForUnderConcurrentAppends(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(16))
	ctx := context.Background()
	reg := registry()
	es, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	l := newLedger(t, pool, reg, "ledger")
	owner, err := projection.NewRunner(es, newStore(t, pool, schema, "owner"), fast, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, owner)
	// The standby never runs: its WaitFor sees only the owner's commits.
	standby, err := projection.NewRunner(es, newStore(t, pool, schema, "standby"), fast, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range 15 {
				events := encode(t, reg, Deposited{Account: fmt.Sprint(w), Amount: 1})
				if i%3 == 2 {
					// An event the projection does not handle.
					events = []eventstore.Event{eventstore.NewEvent("Audited", []byte(`{}`))}
				}
				res, err := es.Append(ctx, fmt.Sprintf("acct-%d-%d", w, i%2), eventstore.Any, events...)
				if err != nil {
					t.Error(err)
					return
				}
				wctx, cancel := context.WithTimeout(ctx, time.Minute)
				err = standby.WaitFor(wctx, res.Positions[0])
				cancel()
				if err != nil {
					t.Errorf("writer %d append %d: %v", w, i, err)
					return
				}
				if events[0].Type == "Audited" {
					continue
				}
				var n int
				if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_applied WHERE event_id = $1`, events[0].ID).Scan(&n); err != nil || n != 1 {
					t.Errorf("writer %d append %d: WaitFor returned, the read model holds the event %d times (%v)", w, i, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	l.checkOnce(t, pool, es)
}
