package postgres_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// TestUpgradeToPositionColumns: a schema at version 4, holding an instance,
// its history, a parked event and a checkpoint (positions in the old
// position_commit, position_prepare columns), takes migration 5, which
// spells them commit_pos, prepare_pos, and reads the same through the store.
func TestUpgradeToPositionColumns(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx := t.Context()
	v4 := sagapg.Migrations
	v4.Migrations = v4.Migrations[:4]
	_, err := pgmigrate.Apply(ctx, pool, schema, v4)
	require.NoError(t, err)

	at := eventstore.Position{Commit: 1 << 40, Prepare: 77}
	hist := eventstore.Position{Commit: 1<<40 - 5, Prepare: 70}
	parked := eventstore.Position{Commit: 1<<40 - 3, Prepare: 73}
	cp := eventstore.Position{Commit: 1<<40 + 1, Prepare: 80}
	eventID := uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO saga_instances (saga, id, status, state, version, position_commit, position_prepare, started_at, updated_at)
			VALUES ('order', 'o-1', 'running', '\x7b7d', 3, $1, $2, now(), now())`, []any{int64(at.Commit), int64(at.Prepare)}},
		{`INSERT INTO saga_history (saga, instance_id, at, kind, event_id, event_type, position_commit, position_prepare)
			VALUES ('order', 'o-1', now(), 'event', $3, 'Placed', $1, $2)`, []any{int64(hist.Commit), int64(hist.Prepare), eventID}},
		{`INSERT INTO saga_parked (saga, instance_id, event_id, event_type, stream_id, stream_version, position_commit, position_prepare, error, attempts, parked_at)
			VALUES ('order', 'o-1', $3, 'Paid', 'payment-1', 2, $1, $2, 'boom', 3, now())`, []any{int64(parked.Commit), int64(parked.Prepare), uuid.New()}},
		{`INSERT INTO saga_checkpoints (saga, position_commit, position_prepare) VALUES ('order', $1, $2)`, []any{int64(cp.Commit), int64(cp.Prepare)}},
	} {
		_, err := pool.Exec(ctx, q.sql, q.args...)
		require.NoError(t, err)
	}

	s, err := sagapg.New(pool, sagapg.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))

	h, err := s.History(ctx, "order", "o-1")
	require.NoError(t, err)
	require.Equal(t, at, h.Instance.Position)
	require.EqualValues(t, 3, h.Instance.Version)
	require.Len(t, h.Entries, 1)
	require.Equal(t, hist, h.Entries[0].Position)
	require.Equal(t, eventID, h.Entries[0].EventID)
	require.Len(t, h.Parked, 1)
	require.Equal(t, parked, h.Parked[0].Position)
	require.Equal(t, "payment-1", h.Parked[0].StreamID)
	got, err := s.Checkpoint(ctx, "order")
	require.NoError(t, err)
	require.Equal(t, cp, got)

	var old int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = $1 AND column_name IN ('position_commit', 'position_prepare')`, schema).Scan(&old))
	require.Zero(t, old, "columns still spelled position_commit, position_prepare")
}
