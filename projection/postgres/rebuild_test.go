package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// Rebuild while the same runner follows the log live, under concurrent
// appends, with a handler that spends about a millisecond per event on the
// batch's connection: the rebuild succeeds (plain and blue/green), and in
// the end every event is applied exactly once. The rebuild request used to
// cancel the live batch's context while it ran on the claim's connection,
// which closed the connection and with it the claim ("reset: ownership
// lost: connection closed").
func TestRebuildWhileLive(t *testing.T) {
	for _, kind := range []string{"truncate", "shadow"} {
		t.Run(kind, func(t *testing.T) {
			pool, schema := pgtest.Pool(t, pgtest.MaxConns(12))
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
			if kind == "shadow" {
				l.proj.OnReset(projpg.ShadowTables("ledger_applied", "ledger_balance"))
			}
			var handled atomic.Int64
			l.setHook(func(ctx context.Context, tx *projpg.Tx, rec eventstore.RecordedEvent) error {
				handled.Add(1)
				_, err := tx.Exec(ctx, `SELECT pg_sleep(0.001)`) // a slow handler, busy on the connection
				return err
			})
			cfg := fast
			cfg.RebuildBatchSize = 100
			r, err := projection.NewRunner(es, newStore(t, pool, schema, "runner"), cfg, l.proj)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 200 {
				appendTo(t, es, reg, fmt.Sprintf("acct-%d", i%7), Deposited{Account: fmt.Sprint(i % 7), Amount: 1})
			}
			start(t, r)
			var writers sync.WaitGroup
			writing := make(chan struct{})
			for w := range 2 {
				writers.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-writing:
							return
						default:
						}
						appendTo(t, es, reg, fmt.Sprintf("acct-w%d", w), Deposited{Account: fmt.Sprint(w), Amount: 1})
						time.Sleep(5 * time.Millisecond)
					}
				})
			}
			stopWriters := sync.OnceFunc(func() { close(writing); writers.Wait() })
			t.Cleanup(stopWriters)
			for round := range 3 {
				// Wait until the runner is busy applying live events, then rebuild.
				from := handled.Load()
				eventually(t, "live batches", func() (bool, error) { return handled.Load() > from+20, nil })
				if err := r.Rebuild(ctx, "ledger", projection.RebuildOptions{}); err != nil {
					t.Fatalf("rebuild %d while live: %v", round, err)
				}
			}
			stopWriters()
			eventually(t, "catch-up after the writers stopped", func() (bool, error) { return caughtUp(ctx, pool, schema, es, l) })
			l.checkOnce(t, pool, es)
		})
	}
}

// otherDatabase opens a transaction in another database of the test
// cluster and gives it a transaction ID, so that it holds the cluster's
// horizon back; it returns its backend's pid and a function that ends it.
func otherDatabase(t *testing.T) (int32, func()) {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	other := "postgres"
	if cfg.Database == other {
		other = "template1"
	}
	cfg.Database = other
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to another database of the cluster (%s): %v", cfg.Database, err)
	}
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var pid int32
	var xid string
	if err := tx.QueryRow(context.Background(), `SELECT pg_backend_pid(), pg_current_xact_id()::text`).Scan(&pid, &xid); err != nil {
		t.Fatal(err)
	}
	end := sync.OnceFunc(func() {
		_ = tx.Rollback(context.Background())
		conn.Close(context.Background())
	})
	t.Cleanup(end)
	return pid, end
}

// A rebuild covers the log up to its end as of its start, even while a
// transaction in another database of the cluster holds the horizon below
// that end: it applies what it can read, reports that it waits and on
// which transaction, and fails with a *RebuildIncompleteError if its
// context ends first (it used to return success having replayed only the
// events below the horizon). Once the transaction ends, the replay goes on
// from where it stopped, and every event is applied exactly once.
func TestRebuildWaitsForTheHorizon(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(8))
	ctx := context.Background()
	reg := registry()
	es, err := espg.New(pool, espg.Config{Schema: schema, HorizonWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	l := newLedger(t, pool, reg, "ledger")
	cps := newStore(t, pool, schema, "runner")
	cfg := fast
	cfg.RebuildBatchSize = 100
	r, err := projection.NewRunner(es, cps, cfg, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		appendTo(t, es, reg, fmt.Sprintf("acct-%d", i%5), Deposited{Account: fmt.Sprint(i % 5), Amount: 1})
	}
	// Every subscriber in the cluster (other packages' tests too) waits
	// while this transaction is open: keep the events behind it few, so
	// the hold is short.
	pid, end := otherDatabase(t)
	var tip eventstore.Position
	for i := range 100 {
		ps := appendTo(t, es, reg, fmt.Sprintf("acct-%d", i%5), Deposited{Account: fmt.Sprint(i % 5), Amount: 1})
		tip = ps[0]
	}

	// Without Run: the rebuild waits, says on whom, and fails typed when
	// its context ends.
	rctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var seen *projection.Progress
	done := make(chan error, 1)
	go func() {
		done <- r.Rebuild(rctx, "ledger", projection.RebuildOptions{Every: time.Millisecond, Progress: func(p projection.Progress) {
			mu.Lock()
			defer mu.Unlock()
			if p.Waiting && p.Holder != nil && p.Holder.PID == pid {
				seen = &p
			}
		}})
	}()
	eventually(t, "a progress report waiting on the other database's transaction", func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return seen != nil, nil
	})
	cancel()
	err = <-done
	incomplete, ok := errors.AsType[*projection.RebuildIncompleteError](err)
	if !ok || !errors.Is(err, projection.ErrRebuildIncomplete) || !errors.Is(err, context.Canceled) {
		t.Fatalf("rebuild ended with %v, want a *RebuildIncompleteError", err)
	}
	mu.Lock()
	p := *seen
	mu.Unlock()
	if p.Head != tip || p.Events != 300 || p.Holder.Database == "" || p.Holder.Database == pool.Config().ConnConfig.Database ||
		incomplete.Head != tip || incomplete.Events != 300 || incomplete.Holder == nil || incomplete.Holder.PID != pid || incomplete.Continues {
		t.Fatalf("waiting report %+v (holder %+v), error %+v", p, p.Holder, incomplete)
	}
	rec, err := status(ctx, pool, schema, "ledger")
	if err != nil || rec.State != projection.Rebuilding || rec.Handled != 300 {
		t.Fatalf("after the incomplete rebuild: %+v %v", rec, err)
	}

	// The runner resumes the replay, still waiting; its status says on
	// whom.
	start(t, r)
	eventually(t, "the status to name the transaction holding the horizon", func() (bool, error) {
		sts, err := r.Status(ctx)
		if err != nil || len(sts) != 1 {
			return false, err
		}
		st := sts[0]
		return st.State == projection.Rebuilding && st.Tip == tip && st.Head.Before(tip) && st.HeldBy != nil && st.HeldBy.PID == pid, nil
	})
	end()
	eventually(t, "the rebuild to finish and the projection to catch up", func() (bool, error) { return caughtUp(ctx, pool, schema, es, l) })
	l.checkOnce(t, pool, es)
}
