package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pglease"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
)

// DB is what the functions that read or change checkpoints from outside a
// runner need: a pool, a connection or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const recordColumns = `name, commit_pos, prepare_pos, checkpoint_at, handled, state,
	failed_commit_pos, failed_prepare_pos, failed_event_id, failed_stream, failed_version, failed_type,
	failed_recorded_at, failed_attempts, failed_at, last_error, event_types, stream_prefixes, owner, updated_at`

func scanRecord(row pgx.Row, extra ...any) (projection.Record, error) {
	var (
		r                                   projection.Record
		commit, prepare, handled            int64
		checkpointAt, failedRecAt, failedAt pgtype.Timestamptz
		state                               string
		fCommit, fPrepare, fVersion         pgtype.Int8
		fID                                 pgtype.UUID
		fStream, fType                      pgtype.Text
		fAttempts                           pgtype.Int4
	)
	dest := []any{&r.Name, &commit, &prepare, &checkpointAt, &handled, &state,
		&fCommit, &fPrepare, &fID, &fStream, &fVersion, &fType, &failedRecAt, &fAttempts, &failedAt,
		&r.LastError, &r.Filter.EventTypes, &r.Filter.StreamPrefixes, &r.Owner, &r.UpdatedAt}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return projection.Record{}, err
	}
	r.Checkpoint = eventstore.Position{Commit: uint64(commit), Prepare: uint64(prepare)}
	r.CheckpointAt = checkpointAt.Time
	r.Handled = uint64(handled)
	r.State = projection.State(state)
	if fCommit.Valid {
		r.Failure = &projection.Failure{
			Position:   eventstore.Position{Commit: uint64(fCommit.Int64), Prepare: uint64(fPrepare.Int64)},
			EventID:    fID.Bytes,
			Stream:     fStream.String,
			Version:    uint64(fVersion.Int64),
			Type:       fType.String,
			RecordedAt: failedRecAt.Time,
			Error:      r.LastError,
			Attempts:   int(fAttempts.Int32),
			At:         failedAt.Time,
		}
	}
	if len(r.Filter.EventTypes) == 0 {
		r.Filter.EventTypes = nil
	}
	if len(r.Filter.StreamPrefixes) == 0 {
		r.Filter.StreamPrefixes = nil
	}
	return r, nil
}

// ListStatus reads every projection's record from the checkpoint table in
// schema, sorted by name, with Owned telling whether a runner holds its
// advisory lock now. It needs no running projection: the CLI calls it, then
// [projection.Describe] for the lag.
func ListStatus(ctx context.Context, db DB, schema string) ([]projection.Record, error) {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+recordColumns+`, `+pglease.Held(pglease.Projection, schema, "c.name")+`
		FROM `+checkpointTable(schema)+` c ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("projection/postgres: list status: %w", err)
	}
	defer rows.Close()
	var out []projection.Record
	for rows.Next() {
		var owned bool
		r, err := scanRecord(rows, &owned)
		if err != nil {
			return nil, fmt.Errorf("projection/postgres: list status: %w", err)
		}
		r.Owned = owned
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projection/postgres: list status: %w", err)
	}
	return out, nil
}

// Skip moves the failed projection name past the event it is stopped at, so
// its owner resumes after it (within its poll interval). The event stays
// unapplied: that is the operator's decision, recorded in last_error. A
// projection that failed during a blue/green rebuild ([ShadowTables]) goes
// back to rebuilding (Skip and Retry alike), so that the rebuild finishes
// and swaps the rebuilt tables in.
func Skip(ctx context.Context, db DB, schema, name string) error {
	return resume(ctx, db, schema, name, true)
}

// Retry makes the failed projection name try the event it is stopped at
// again, with a fresh count of attempts.
func Retry(ctx context.Context, db DB, schema, name string) error {
	return resume(ctx, db, schema, name, false)
}

func resume(ctx context.Context, db DB, schema, name string, skip bool) error {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return err
	}
	table := checkpointTable(schema)
	tag, err := db.Exec(ctx, `UPDATE `+table+` SET
			commit_pos    = CASE WHEN $2 THEN failed_commit_pos ELSE commit_pos END,
			prepare_pos   = CASE WHEN $2 THEN failed_prepare_pos ELSE prepare_pos END,
			checkpoint_at = CASE WHEN $2 THEN failed_recorded_at ELSE checkpoint_at END,
			state = CASE WHEN shadow_schema IS NOT NULL THEN 'rebuilding' ELSE 'running' END, failed_commit_pos = NULL, failed_prepare_pos = NULL, failed_event_id = NULL,
			failed_stream = NULL, failed_version = NULL, failed_type = NULL, failed_recorded_at = NULL,
			failed_attempts = NULL, failed_at = NULL, updated_at = now()
		WHERE name = $1 AND state = 'failed'`, name, skip)
	if err != nil {
		return fmt.Errorf("projection/postgres: resume %q: %w", name, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var state string
	err = db.QueryRow(ctx, `SELECT state FROM `+table+` WHERE name = $1`, name).Scan(&state)
	switch {
	case err == pgx.ErrNoRows:
		return fmt.Errorf("%w: %q", projection.ErrUnknownProjection, name)
	case err != nil:
		return fmt.Errorf("projection/postgres: resume %q: %w", name, err)
	}
	return fmt.Errorf("%w: %q is %s", projection.ErrNotFailed, name, state)
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
