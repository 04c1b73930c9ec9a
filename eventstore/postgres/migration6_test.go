package postgres_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
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
	var status int16
	if err := pool.QueryRow(ctx, `SELECT status FROM append_events('old', 1::smallint, 0, true,
		ARRAY[$1::uuid], ARRAY['V5'], ARRAY['{"n":5}'::json], ARRAY[NULL::json])`, ev.ID).Scan(&status); err != nil || status != 0 {
		t.Fatalf("migration 5 append: status %d, %v", status, err)
	}
	s, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "old", eventstore.Exact(1), eventstore.NewEvent("Early", nil)); !errors.Is(err, espg.ErrNotMigrated) || !strings.Contains(err.Error(), "6") {
		t.Fatalf("append before migration 6: %v, want ErrNotMigrated naming migration 6", err)
	}
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
