package postgres_test

import (
	"errors"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

// TestMigration5Upgrade: a store on a schema at migration 4 refuses to
// write (ErrNotMigrated names migration 5: its AppendTx would run the old
// append_events, whose lost race aborts the caller's transaction) until it
// is migrated; the events written before go on, and the replaced function
// answers, in a caller's transaction, an idempotent retry and an event ID
// stored elsewhere as before.
func TestMigration5Upgrade(t *testing.T) {
	pool, schema := poolAtMigration(t, 4)
	ctx := t.Context()
	ev := eventstore.NewEvent("V4", []byte(`{"n":1}`))
	ev.ID = eventstore.NewEventID()
	appendThroughFunction(t, pool, "old", ev)
	s := unmigratedStore(t, pool, schema, 5)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTx(ctx, tx, "old", eventstore.Exact(1), eventstore.NewEvent("Early", nil)); !errors.Is(err, espg.ErrNotMigrated) {
		t.Fatalf("AppendTx before migration 5: %v, want ErrNotMigrated", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if res, err := s.AppendTx(ctx, tx, "old", eventstore.NoStream, ev); err != nil || res.Version != 1 {
		t.Fatalf("idempotent retry of the migration-4 append: version %d, %v; want 1", res.Version, err)
	}
	_, err = s.AppendTx(ctx, tx, "elsewhere", eventstore.Any, ev)
	if ce, ok := errors.AsType[*eventstore.ConflictError](err); !ok || ce.EventID != ev.ID {
		t.Fatalf("the ID in another stream: %v, want a conflict naming it", err)
	}
	res, err := s.AppendTx(ctx, tx, "old", eventstore.Exact(1), eventstore.NewEvent("V5", nil))
	if err != nil || res.Version != 2 {
		t.Fatalf("append after the upgrade: version %d, %v; want 2", res.Version, err)
	}
	if err := s.CommitTx(ctx, tx, res); err != nil {
		t.Fatal(err)
	}
	got, err := readUntilError(s.ReadAll(ctx, eventstore.ReadAllOptions{}), 0)
	if err != nil || len(got) != 2 || got[0].ID != ev.ID || string(got[0].Data) != `{"n":1}` || got[1].Version != 2 {
		t.Fatalf("read after migration 5: %d events, %v", len(got), err)
	}
}
