package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/memory"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// A blue/green rebuild: the live tables keep serving their full content
// while the copies are built, then the copies replace them in one
// transaction; the result equals the live read model.
func TestShadowRebuildKeepsServing(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(4))
	ctx := context.Background()
	reg := registry()
	store := memory.New(memory.Config{})
	for i := range 1000 {
		appendTo(t, store, reg, fmt.Sprintf("acct-%d", i%9), Deposited{Account: fmt.Sprint(i % 9), Amount: i % 13})
	}
	l := newLedger(t, pool, reg, "ledger")
	l.proj.OnReset(projpg.ShadowTables("ledger_applied", "ledger_balance"))
	cfg := fast
	cfg.RebuildBatchSize = 100
	r, err := projection.NewRunner(store, newStore(t, pool, schema, "runner"), cfg, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "catch-up", func() (bool, error) { return caughtUp(ctx, pool, schema, store, l) })
	live := l.checksum(t, pool)

	var rebuilding atomic.Bool
	paused, resume := make(chan struct{}), make(chan struct{})
	l.setHook(func(ctx context.Context, tx *projpg.Tx, rec eventstore.RecordedEvent) error {
		if rebuilding.Load() && rec.Position.Commit == 500 {
			rebuilding.Store(false)
			close(paused)
			<-resume
		}
		return nil
	})
	rebuilding.Store(true)
	done := make(chan error, 1)
	go func() { done <- r.Rebuild(ctx, "ledger", projection.RebuildOptions{}) }()
	<-paused
	// Halfway through the replay: the live tables still hold everything.
	if got := l.checksum(t, pool); got != live {
		t.Errorf("live tables changed during the rebuild: %s, want %s", got, live)
	}
	var shadow string
	var handled int
	if err := pool.QueryRow(ctx, `SELECT shadow_schema, handled FROM projection_checkpoints WHERE name = 'ledger'`).Scan(&shadow, &handled); err != nil {
		t.Fatal(err)
	}
	var shadowRows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{shadow, "ledger_applied"}.Sanitize()).Scan(&shadowRows); err != nil ||
		shadowRows != handled || handled == 0 || handled >= 500 {
		t.Errorf("shadow table holds %d rows, %d events replayed so far (before the 500th): %v", shadowRows, handled, err)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := l.checksum(t, pool); got != live {
		t.Fatalf("rebuilt %s, live %s", got, live)
	}
	var schemas int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, shadow).Scan(&schemas); err != nil || schemas != 0 {
		t.Fatalf("shadow schema left behind: %d %v", schemas, err)
	}
	// The swapped-in tables follow the log live.
	appendTo(t, store, reg, "acct-0", Withdrawn{Account: "0", Amount: 1})
	eventually(t, "live after the swap", func() (bool, error) { return caughtUp(ctx, pool, schema, store, l) })
	l.checkOnce(t, pool, store)
}

// A blue/green rebuild whose connection dies halfway is finished by the
// next claim, into the same shadow tables, and swapped in.
func TestShadowRebuildResumesAfterConnectionLoss(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(4))
	ctx := context.Background()
	reg := registry()
	store := memory.New(memory.Config{})
	for i := range 600 {
		appendTo(t, store, reg, fmt.Sprintf("acct-%d", i%7), Deposited{Account: fmt.Sprint(i % 7), Amount: i % 11})
	}
	l := newLedger(t, pool, reg, "ledger")
	l.proj.OnReset(projpg.ShadowTables("ledger_applied", "ledger_balance"))
	cfg := fast
	cfg.RebuildBatchSize = 50
	r, err := projection.NewRunner(store, newStore(t, pool, schema, "runner"), cfg, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "catch-up", func() (bool, error) { return caughtUp(ctx, pool, schema, store, l) })
	live := l.checksum(t, pool)

	var rebuilding atomic.Bool
	l.setHook(func(ctx context.Context, tx *projpg.Tx, rec eventstore.RecordedEvent) error {
		if rebuilding.Load() && rec.Position.Commit == 300 {
			rebuilding.Store(false)
			if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, tx.Conn().PgConn().PID()); err != nil {
				t.Error(err)
			}
		}
		return nil
	})
	rebuilding.Store(true)
	if err := r.Rebuild(ctx, "ledger", projection.RebuildOptions{}); !errors.Is(err, projection.ErrClaimLost) {
		t.Fatalf("rebuild with its connection killed: %v, want ErrClaimLost", err)
	}
	eventually(t, "the rebuild to be finished by the next claim", func() (bool, error) {
		rec, err := status(ctx, pool, schema, "ledger")
		return rec.State == projection.Running && rec.Checkpoint == (eventstore.Position{Commit: 600, Prepare: 600}), err
	})
	if got := l.checksum(t, pool); got != live {
		t.Fatalf("rebuilt %s, live %s", got, live)
	}
	l.checkOnce(t, pool, store)
	var shadows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projection_checkpoints WHERE shadow_schema IS NOT NULL`).Scan(&shadows); err != nil || shadows != 0 {
		t.Fatalf("shadow still recorded: %d %v", shadows, err)
	}
}

// A blue/green rebuild that stops at a failed event, then skipped (or
// retried), goes back to rebuilding: it finishes the replay into the
// shadow tables and swaps them in, rather than following the log into the
// shadow tables for ever while the live ones stay frozen.
func TestShadowRebuildFailedThenSkipped(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(4))
	ctx := context.Background()
	reg := registry()
	store := memory.New(memory.Config{})
	for i := range 300 {
		appendTo(t, store, reg, fmt.Sprintf("acct-%d", i%7), Deposited{Account: fmt.Sprint(i % 7), Amount: 1})
	}
	l := newLedger(t, pool, reg, "ledger")
	l.proj.OnReset(projpg.ShadowTables("ledger_applied", "ledger_balance"))
	r, err := projection.NewRunner(store, newStore(t, pool, schema, "runner"), fast, l.proj)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	eventually(t, "catch-up", func() (bool, error) { return caughtUp(ctx, pool, schema, store, l) })
	var failing atomic.Bool
	failing.Store(true)
	l.setHook(func(ctx context.Context, tx *projpg.Tx, rec eventstore.RecordedEvent) error {
		if failing.Load() && rec.Position.Commit == 150 {
			return errors.New("bad event")
		}
		return nil
	})
	if err := r.Rebuild(ctx, "ledger", projection.RebuildOptions{}); err == nil || !strings.Contains(err.Error(), "bad event") {
		t.Fatalf("rebuild over a failing event: %v", err)
	}
	if err := r.Skip(ctx, "ledger"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rebuild to finish after the skip", func() (bool, error) {
		rec, err := status(ctx, pool, schema, "ledger")
		return rec.State == projection.Running && rec.Checkpoint == (eventstore.Position{Commit: 300, Prepare: 300}), err
	})
	var shadows, rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projection_checkpoints WHERE shadow_schema IS NOT NULL`).Scan(&shadows); err != nil || shadows != 0 {
		t.Fatalf("shadow still recorded: %d %v", shadows, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_applied`).Scan(&rows); err != nil || rows != 299 {
		t.Fatalf("the live table holds %d events (%v), want the 299 not skipped", rows, err)
	}
}
