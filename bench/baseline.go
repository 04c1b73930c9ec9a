package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// The baseline is what the same work costs written by hand with pgx on
// tables of the same shape (baseline_events, baseline_snapshots: LIKE
// chronicle's own, see createBaselineTables). It does the SQL work the task
// needs and nothing else: the cost floor of that work on this PostgreSQL.
//
//   - An append is one statement: a multi-row insert of the events, stamped
//     with the transaction id, that writes only if the stream's last version
//     (max(version) over the primary key) is the expected one; two writers
//     racing for a version meet at the primary key. No order guard, no
//     idempotency check, no epoch, no fallback path.
//   - A stream read is one query over the whole stream (chronicle pages).
//   - A log read is one query in (transaction_id, position) order below the
//     horizon pg_snapshot_xmin(pg_current_snapshot()) (chronicle pages and
//     re-reads the horizon per page).
//
// Rows are scanned and their metadata decoded into the same
// eventstore.RecordedEvent chronicle returns, so the Go-side decoding is
// the same work on both sides.
type baselineSQL struct {
	append       string
	version      string
	readStream   string
	readAll      string
	loadSnapshot string
	saveSnapshot string
	settled      string
}

const baselineColumns = `transaction_id, position, stream_id, version, event_id, type, data, metadata, recorded_at`

func newBaselineSQL(schema string) baselineSQL {
	events := pgmigrate.Table(schema, "baseline_events")
	snapshots := pgmigrate.Table(schema, "baseline_snapshots")
	return baselineSQL{
		// $1 stream, $2 expected version, $3… the events' columns. Returns
		// the positions (empty on a version mismatch) and the stream's
		// version as of the statement's snapshot (a hint after a mismatch).
		append: `WITH ins AS (
			INSERT INTO ` + events + ` (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT pg_current_xact_id()::text::bigint, $1, $2::bigint + u.ord, u.id, u.typ, u.dat, u.md
			  FROM unnest($3::uuid[], $4::text[], $5::json[], $6::json[]) WITH ORDINALITY AS u(id, typ, dat, md, ord)
			 WHERE coalesce((SELECT max(version) FROM ` + events + ` WHERE stream_id = $1), 0) = $2::bigint
			RETURNING position
		)
		SELECT coalesce(array_agg(ins.position ORDER BY ins.position), '{}'),
		       coalesce((SELECT max(version) FROM ` + events + ` WHERE stream_id = $1), 0)
		  FROM ins`,
		version: `SELECT coalesce(max(version), 0) FROM ` + events + ` WHERE stream_id = $1`,
		readStream: `SELECT ` + baselineColumns + ` FROM ` + events + `
			WHERE stream_id = $1 AND version >= $2 ORDER BY version`,
		readAll: `SELECT ` + baselineColumns + ` FROM ` + events + `
			WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
			ORDER BY transaction_id, position LIMIT $1`,
		loadSnapshot: `SELECT version, data FROM ` + snapshots + ` WHERE stream_id = $1`,
		saveSnapshot: `INSERT INTO ` + snapshots + ` (stream_id, aggregate_type, version, schema_version, data)
			VALUES ($1, $2, $3, 1, $4)
			ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data`,
		// settled: every event in both logs is below the horizon, final
		// for readers (chronicle's transaction ids carry the epoch offset).
		settled: `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + (SELECT offset_xid FROM ` + pgmigrate.Table(schema, "epoch") + `)
				> (SELECT coalesce(max(transaction_id), 0) FROM ` + pgmigrate.Table(schema, "events") + `)
			AND pg_snapshot_xmin(pg_current_snapshot())::text::bigint
				> (SELECT coalesce(max(transaction_id), 0) FROM ` + events + `)`,
	}
}

// pgQuerier is what the baseline runs on: the pool or a transaction.
type pgQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// baselineAppend appends events to stream if its version is expected. It
// reports ok=false and the stream's version (possibly stale: see the
// statement) on a mismatch.
func (e *env) baselineAppend(ctx context.Context, q pgQuerier, stream string, expected uint64, events []eventstore.Event) (version uint64, ok bool, err error) {
	ids := make([][16]byte, len(events))
	types := make([]string, len(events))
	data := make([][]byte, len(events))
	md := make([][]byte, len(events))
	for i, ev := range events {
		id := ev.ID
		if id == uuid.Nil {
			id = eventstore.NewEventID()
		}
		ids[i], types[i] = id, ev.Type
		if len(ev.Data) > 0 {
			data[i] = ev.Data
		}
		if !ev.Metadata.IsZero() {
			if md[i], err = json.Marshal(ev.Metadata); err != nil {
				return 0, false, err
			}
		}
	}
	var positions []int64
	var current int64
	if err := q.QueryRow(ctx, e.base.append, stream, int64(expected), ids, types, data, md).Scan(&positions, &current); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == pgerr.UniqueViolation {
			// Another writer took the version first: a mismatch.
			if verr := q.QueryRow(ctx, e.base.version, stream).Scan(&current); verr == nil {
				return uint64(current), false, nil
			}
		}
		return 0, false, fmt.Errorf("baseline append to %s: %w", stream, err)
	}
	if len(positions) == 0 {
		return uint64(current), false, nil
	}
	if len(positions) != len(events) {
		return 0, false, fmt.Errorf("baseline append to %s: %d positions for %d events", stream, len(positions), len(events))
	}
	return expected + uint64(len(events)), true, nil
}

// scanEvents reads rows of baselineColumns into buf.
func scanEvents(rows pgx.Rows, each func(eventstore.RecordedEvent) error) (int, error) {
	defer rows.Close()
	var (
		tid, pos, version int64
		stream, typ       string
		id                [16]byte
		data, md          []byte
		at                time.Time
		n                 int
	)
	for rows.Next() {
		data, md = nil, nil
		if err := rows.Scan(&tid, &pos, &stream, &version, &id, &typ, &data, &md, &at); err != nil {
			return n, err
		}
		e := eventstore.RecordedEvent{
			Event:      eventstore.Event{ID: id, Type: typ, Data: data},
			StreamID:   stream,
			Version:    uint64(version),
			Position:   eventstore.Position{Commit: uint64(tid), Prepare: uint64(pos)},
			RecordedAt: at.UTC(),
		}
		if len(md) > 0 {
			if err := json.Unmarshal(md, &e.Metadata); err != nil {
				return n, err
			}
		}
		if err := each(e); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// waitSettled waits until every event of both logs is below the horizon,
// so that a read of the log measures reading, not waiting for transactions
// in flight elsewhere on the server (which hold the horizon back).
func (e *env) waitSettled(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var ok bool
		if err := e.pool.QueryRow(ctx, e.base.settled).Scan(&ok); err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the horizon did not pass the log's last events within %v: a transaction elsewhere on the server stays open", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
