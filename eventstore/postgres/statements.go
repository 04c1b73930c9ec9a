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

// eventColumns are the columns every read selects, in scan order.
const eventColumns = `ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type, ev.data, ev.metadata, ev.recorded_at`

func newStatements(schema string) statements {
	events := pgmigrate.Table(schema, "events")
	streams := pgmigrate.Table(schema, "streams")
	epoch := pgmigrate.Table(schema, "epoch")
	// horizon is the first transaction id that may still be in flight,
	// shifted by the epoch offset: every event below it is committed (or
	// gone) for good, so nothing can appear behind a reader that stops there.
	horizon := `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + ep.offset_xid AS horizon FROM ` + epoch + ` ep`
	filter := ` AND ($4::text[] IS NULL OR ev.type = ANY ($4::text[]))
		AND ($5::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($5::text[]) p WHERE starts_with(ev.stream_id, p)))`
	return statements{
		appendEvents: `SELECT status, version, actual, conflict_id, reason, tids, positions FROM ` +
			pgmigrate.Table(schema, "append_events") + `($1, $2, $3, $4, $5, $6, $7, $8)`,
		horizon: horizon,
		readAll: `WITH h AS MATERIALIZED (` + horizon + `)
			SELECT h.horizon, ` + eventColumns + ` FROM h LEFT JOIN LATERAL (
				SELECT * FROM ` + events + ` ev
				WHERE (ev.transaction_id, ev.position) > ($1, $2) AND ev.transaction_id < h.horizon` + filter + `
				ORDER BY ev.transaction_id, ev.position LIMIT $3) ev ON true
			ORDER BY ev.transaction_id, ev.position`,
		readAllBack: `WITH h AS MATERIALIZED (` + horizon + `)
			SELECT h.horizon, ` + eventColumns + ` FROM h LEFT JOIN LATERAL (
				SELECT * FROM ` + events + ` ev
				WHERE (ev.transaction_id, ev.position) < ($1, $2) AND ev.transaction_id < h.horizon` + filter + `
				ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT $3) ev ON true
			ORDER BY ev.transaction_id DESC, ev.position DESC`,
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
