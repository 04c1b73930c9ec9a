package postgres_test

import (
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
)

// TestMigration6Upgrade: a store on a schema at migration 5 refuses to
// write (ErrNotMigrated naming migration 6) until it is migrated; then the
// replaced append_events appends after the events written before, in a
// caller's transaction, and recognises an idempotent retry of one of them.
func TestMigration6Upgrade(t *testing.T) {
	pool, schema := poolAtMigration(t, 5)
	ctx := t.Context()
	ev := eventstore.NewEvent("V5", []byte(`{"n":5}`))
	ev.ID = eventstore.NewEventID()
	appendThroughFunction(t, pool, "old", ev)
	s := unmigratedStore(t, pool, schema, 6)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if res, err := s.AppendTx(ctx, tx, "old", eventstore.NoStream, ev); err != nil || res.Version != 1 {
		t.Fatalf("idempotent retry of the migration-5 append: version %d, %v; want 1", res.Version, err)
	}
	var results []eventstore.AppendResult
	for i := range 3 {
		res, err := s.AppendTx(ctx, tx, "old", eventstore.Exact(uint64(i+1)), eventstore.NewEvent("V6", nil))
		if err != nil || res.Version != uint64(i+2) {
			t.Fatalf("append %d after the upgrade: version %d, %v; want %d", i+1, res.Version, err, i+2)
		}
		results = append(results, res)
	}
	if err := s.CommitTx(ctx, tx, results...); err != nil {
		t.Fatal(err)
	}
	got, err := readUntilError(s.ReadAll(ctx, eventstore.ReadAllOptions{}), 0)
	if err != nil || len(got) != 4 || got[0].ID != ev.ID || got[3].Version != 4 {
		t.Fatalf("read after migration 6: %d events, %v", len(got), err)
	}
}
