package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pglease"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/relay"
)

// DB is what the operations need: a pool, a connection or a transaction.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func recordColumns(schema string) string {
	return `name, commit_pos, prepare_pos, checkpoint_at, published, event_types, stream_prefixes, owner, last_error, updated_at,
		(SELECT count(*) FROM ` + pgmigrate.Table(schema, "relay_parked") + ` p WHERE p.relay = r.name),
		` + pglease.Held(pglease.Relay, schema, "r.name")
}

func scanRecord(row pgx.Row) (relay.Record, error) {
	var r relay.Record
	var c, p int64
	var at *time.Time
	err := row.Scan(&r.Name, &c, &p, &at, &r.Published, &r.Filter.EventTypes, &r.Filter.StreamPrefixes,
		&r.Owner, &r.LastError, &r.UpdatedAt, &r.Parked, &r.Owned)
	r.Checkpoint = eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}
	if at != nil {
		r.CheckpointAt = at.UTC()
	}
	r.UpdatedAt = r.UpdatedAt.UTC()
	if len(r.Filter.EventTypes) == 0 {
		r.Filter.EventTypes = nil
	}
	if len(r.Filter.StreamPrefixes) == 0 {
		r.Filter.StreamPrefixes = nil
	}
	return r, err
}

// ListStatus returns every relay's record in schema, sorted by name, with
// whether a process holds it now.
func ListStatus(ctx context.Context, db DB, schema string) ([]relay.Record, error) {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+recordColumns(schema)+` FROM `+pgmigrate.Table(schema, "relay_checkpoints")+` r ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("relay/postgres: status: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (relay.Record, error) { return scanRecord(r) })
}

const parkedColumns = `relay, kind, message_id, commit_pos, prepare_pos, state, attributes, data, error, attempts, parked_at`

func scanParked(r pgx.CollectableRow) (relay.Parked, error) {
	var p relay.Parked
	var id string
	var c, pp int64
	var attrs, data []byte
	if err := r.Scan(&p.Relay, &p.Kind, &id, &c, &pp, &p.State, &attrs, &data, &p.Error, &p.Attempts, &p.ParkedAt); err != nil {
		return p, err
	}
	p.Position = eventstore.Position{Commit: uint64(c), Prepare: uint64(pp)}
	p.ParkedAt = p.ParkedAt.UTC()
	var m map[string]string
	if err := json.Unmarshal(attrs, &m); err != nil {
		return p, err
	}
	msg, _ := broker.FromAttributes(func(n string) (string, bool) { v, ok := m[n]; return v, ok }, slices.Collect(maps.Keys(m)), data)
	if msg.ID == "" {
		msg.ID = id
	}
	p.Message = msg
	return p, nil
}

// Parked lists relay name's parked messages in schema, by position.
func Parked(ctx context.Context, db DB, schema, name string) ([]relay.Parked, error) {
	if err := known(ctx, db, schema, name); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+parkedColumns+` FROM `+pgmigrate.Table(schema, "relay_parked")+`
		WHERE relay = $1 ORDER BY commit_pos, prepare_pos`, name)
	if err != nil {
		return nil, fmt.Errorf("relay/postgres: parked: %w", err)
	}
	return pgx.CollectRows(rows, scanParked)
}

func known(ctx context.Context, db DB, schema, name string) error {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return err
	}
	var ok bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgmigrate.Table(schema, "relay_checkpoints")+` WHERE name = $1)`, name).Scan(&ok); err != nil {
		return fmt.Errorf("relay/postgres: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: %q", relay.ErrUnknownRelay, name)
	}
	return nil
}

// Retry marks relay name's parked message id (every one when id is "")
// to be published again by the relay's owner, and returns how many.
func Retry(ctx context.Context, db DB, schema, name, id string) (int, error) {
	return change(ctx, db, schema, name, id, `UPDATE %s SET state = 'retry', updated_at = now() WHERE relay = $1 AND ($2 = '' OR message_id = $2) RETURNING 1`)
}

// Skip forgets relay name's parked message id (every one when id is
// ""), and returns how many.
func Skip(ctx context.Context, db DB, schema, name, id string) (int, error) {
	return change(ctx, db, schema, name, id, `DELETE FROM %s WHERE relay = $1 AND ($2 = '' OR message_id = $2) RETURNING 1`)
}

func change(ctx context.Context, db DB, schema, name, id, sql string) (int, error) {
	if err := known(ctx, db, schema, name); err != nil {
		return 0, err
	}
	rows, err := db.Query(ctx, fmt.Sprintf(sql, pgmigrate.Table(schema, "relay_parked")), name, id)
	if err != nil {
		return 0, fmt.Errorf("relay/postgres: %w", err)
	}
	n, err := pgx.CollectRows(rows, pgx.RowTo[int])
	return len(n), err
}
