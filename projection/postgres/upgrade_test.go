package postgres_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// TestUpgradeToPositionColumns: a schema at version 2 holding a failed
// projection (its stuck event's position in the old failed_commit,
// failed_prepare columns) takes migration 3, which spells them
// failed_commit_pos, failed_prepare_pos, and reads the same.
func TestUpgradeToPositionColumns(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx := t.Context()
	v2 := projpg.Migrations
	v2.Migrations = v2.Migrations[:2]
	if _, err := pgmigrate.Apply(ctx, pool, schema, v2); err != nil {
		t.Fatal(err)
	}
	checkpoint := eventstore.Position{Commit: 1 << 40, Prepare: 41}
	failed := eventstore.Position{Commit: 1<<40 + 2, Prepare: 44}
	eventID := uuid.New()
	if _, err := pool.Exec(ctx, `INSERT INTO projection_checkpoints (name, commit_pos, prepare_pos, handled, state,
			failed_commit, failed_prepare, failed_event_id, failed_stream, failed_version, failed_type, failed_attempts, failed_at, last_error)
		VALUES ('orders', $1, $2, 9, 'failed', $3, $4, $5, 'order-7', 3, 'OrderPlaced', 5, now(), 'boom')`,
		int64(checkpoint.Commit), int64(checkpoint.Prepare), int64(failed.Commit), int64(failed.Prepare), eventID); err != nil {
		t.Fatal(err)
	}
	if _, err := pgmigrate.Apply(ctx, pool, schema, projpg.Migrations); err != nil {
		t.Fatal(err)
	}
	records, err := projpg.ListStatus(ctx, pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 {
		t.Fatalf("%d records, want 1", len(records))
	}
	r := records[0]
	if r.State != projection.Failed || r.Checkpoint != checkpoint || r.Handled != 9 {
		t.Fatalf("record %+v, want failed at %v, 9 handled", r, checkpoint)
	}
	if r.Failure == nil || r.Failure.Position != failed || r.Failure.EventID != eventID || r.Failure.Stream != "order-7" ||
		r.Failure.Version != 3 || r.Failure.Attempts != 5 || r.Failure.Error != "boom" {
		t.Fatalf("failure %+v, want the stuck event at %v", r.Failure, failed)
	}
	var old int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = $1 AND column_name IN ('failed_commit', 'failed_prepare')`, schema).Scan(&old); err != nil || old != 0 {
		t.Fatalf("%d columns still spelled failed_commit, failed_prepare (%v)", old, err)
	}
}
