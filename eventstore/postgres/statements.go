package postgres

import "github.com/chronicle-go/chronicle/internal/pgmigrate"

// statements holds the store's SQL, built once from the validated schema
// name: nothing else is ever spliced into a statement.
type statements struct {
	appendEvents string
	horizon      string
	readAll      string
	readAllBack  string
	readStream   string
	readBack     string
	streamExists string
	head         string
	streams      string
	streamsLike  string
	epoch        string
}

// nullableColumns are eventColumns for a LEFT JOIN that may yield one row of
// NULLs (an empty page still returns the horizon); transaction_id -1 marks it.
const nullableColumns = `coalesce(ev.transaction_id, -1), coalesce(ev.position, 0), coalesce(ev.stream_id, ''),
	coalesce(ev.version, 0), coalesce(ev.event_id, '00000000-0000-0000-0000-000000000000'), coalesce(ev.type, ''),
	ev.data, ev.metadata, coalesce(ev.recorded_at, 'epoch')`

// eventColumns are the columns every read selects, in scan order.
const eventColumns = `ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type, ev.data, ev.metadata, ev.recorded_at`

func newStatements(schema string) statements {
	events := pgmigrate.Table(schema, "events")
	streams := pgmigrate.Table(schema, "streams")
	epoch := pgmigrate.Table(schema, "epoch")
	// horizon is the first transaction id that may still be in flight,
	// shifted by the epoch offset: every event below it is committed (or
	// gone) for good, so nothing can appear behind a reader that stops there.
	// (A FROM-less SELECT, so the planner knows it is one row: an estimate
	// taken from the never-analysed epoch table once made every read costly
	// enough to be JIT-compiled.)
	offset := `(SELECT offset_xid FROM ` + epoch + `)`
	horizon := `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + ` + offset + ` AS horizon`
	// top is the highest committed transaction id in the log: when it is not
	// below the horizon, committed events wait behind a transaction in flight.
	horizonTop := `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + ` + offset + ` AS horizon,
		coalesce((SELECT max(transaction_id) FROM ` + events + `), -1) AS top`
	filter := ` AND ($4::text[] IS NULL OR ev.type = ANY ($4::text[]))
		AND ($5::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($5::text[]) p WHERE starts_with(ev.stream_id, p)))`
	return statements{
		appendEvents: `SELECT status, coalesce(version, 0), actual, conflict_id, reason, tids, positions FROM ` +
			pgmigrate.Table(schema, "append_events") + `($1, $2, $3, $4, $5, $6, $7, $8)`,
		horizon: horizon,
		// No ORDER BY outside the lateral subquery: sorting its rows again
		// cost a third of a page read, and the nested loop over h's one row
		// yields them in the subquery's order. readPage checks the order
		// and sorts a page only if ever it is not.
		readAll: `WITH h AS MATERIALIZED (` + horizonTop + `)
			SELECT h.horizon, h.top, ` + nullableColumns + ` FROM h LEFT JOIN LATERAL (
				SELECT * FROM ` + events + ` ev
				WHERE (ev.transaction_id, ev.position) > ($1, $2) AND ev.transaction_id < h.horizon` + filter + `
				ORDER BY ev.transaction_id, ev.position LIMIT $3) ev ON true`,
		readAllBack: `WITH h AS MATERIALIZED (` + horizonTop + `)
			SELECT h.horizon, h.top, ` + nullableColumns + ` FROM h LEFT JOIN LATERAL (
				SELECT * FROM ` + events + ` ev
				WHERE (ev.transaction_id, ev.position) < ($1, $2) AND ev.transaction_id < h.horizon` + filter + `
				ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT $3) ev ON true`,
		readStream: `SELECT ` + eventColumns + ` FROM ` + events + ` ev
			WHERE ev.stream_id = $1 AND ev.version >= $2 ORDER BY ev.version LIMIT $3`,
		readBack: `SELECT ` + eventColumns + ` FROM ` + events + ` ev
			WHERE ev.stream_id = $1 AND ev.version <= $2 ORDER BY ev.version DESC LIMIT $3`,
		streamExists: `SELECT EXISTS (SELECT 1 FROM ` + streams + ` WHERE stream_id = $1 AND version > 0)`,
		head: `WITH h AS MATERIALIZED (` + horizon + `)
			SELECT h.horizon, ev.transaction_id, ev.position FROM h LEFT JOIN LATERAL (
				SELECT transaction_id, position FROM ` + events + ` ev WHERE ev.transaction_id < h.horizon
				ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT 1) ev ON true`,
		streams: `SELECT stream_id, version FROM ` + streams + `
			WHERE stream_id > $1 AND version > 0 ORDER BY stream_id LIMIT $2`,
		streamsLike: `SELECT stream_id, version FROM ` + streams + `
			WHERE stream_id > $1 AND starts_with(stream_id, $3) AND version > 0 ORDER BY stream_id LIMIT $2`,
		epoch: `SELECT offset_xid FROM ` + epoch,
	}
}
