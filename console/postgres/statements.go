package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/pgmigrate"
)

var errNoRows = pgx.ErrNoRows

// statements is the source's SQL, built once from the validated schema
// name; request input is only ever a parameter.
type statements struct {
	event, correlated, correlatedScan, streams, streamsBounded, countStreams, statsEstimate, recent string
	lag, sagaCounts, sagaParked, sagaFailing, commands, parked, failing                             string
}

// eventCols are the columns scanEvent reads, in order.
const eventCols = `ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type, ev.data, ev.metadata, ev.recorded_at`

// maxWalk bounds how many streams a prefix listing steps over when stream
// IDs do not sort in byte order (it cannot stop at the prefix's end).
const maxWalk = 20_000

// exactStreams is how many streams the overview counts exactly (one
// descent of the primary key each) before it falls back to the planner's
// estimate: 5,000 took 130 ms on a loaded machine, 1,000 a fifth of it.
const exactStreams = 1_000

func newStatements(schema string) statements {
	events := pgmigrate.Table(schema, "events")
	inst := pgmigrate.Table(schema, "saga_instances")
	out := pgmigrate.Table(schema, "saga_outbox")
	park := pgmigrate.Table(schema, "saga_parked")
	cp := pgmigrate.Table(schema, "saga_checkpoints")
	horizon := `pg_snapshot_xmin(pg_current_snapshot())::text::bigint + (SELECT offset_xid FROM ` + pgmigrate.Table(schema, "epoch") + `)`
	// walk lists stream IDs from $1 (exclusive) upwards, one descent of
	// the primary key per stream: $3 is the prefix, $4 the most steps to
	// take (the step that reaches it is returned whatever its ID: a
	// marker), $5 (bounded only) the first ID past every ID with the
	// prefix.
	walk := func(bound string) string {
		return `WITH RECURSIVE s(stream_id, n) AS (
			(SELECT ev.stream_id, 1 FROM ` + events + ` ev WHERE ev.stream_id > $1 AND ev.stream_id >= $3` + bound + ` ORDER BY ev.stream_id LIMIT 1)
			UNION ALL
			SELECT (SELECT ev.stream_id FROM ` + events + ` ev WHERE ev.stream_id > s.stream_id` + bound + ` ORDER BY ev.stream_id LIMIT 1), s.n + 1
			FROM s WHERE s.stream_id IS NOT NULL AND s.n < $4)
		SELECT s.stream_id, (SELECT ev.version FROM ` + events + ` ev WHERE ev.stream_id = s.stream_id ORDER BY ev.version DESC LIMIT 1), s.n
		FROM s WHERE s.stream_id IS NOT NULL AND (starts_with(s.stream_id, $3) OR s.n = $4) LIMIT $2`
	}
	return statements{
		event: `SELECT ` + eventCols + ` FROM ` + events + ` ev WHERE ev.event_id = $1`,
		// The expression must be the index's, word for word.
		correlated: `SELECT ` + eventCols + ` FROM ` + events + ` ev WHERE (ev.metadata ->> 'correlation_id') = $1
			ORDER BY ev.transaction_id, ev.position LIMIT $2`,
		correlatedScan: `SELECT ` + eventCols + ` FROM (SELECT * FROM ` + events + ` ORDER BY transaction_id DESC, position DESC LIMIT $3) ev
			WHERE (ev.metadata ->> 'correlation_id') = $1 ORDER BY ev.transaction_id, ev.position LIMIT $2`,
		streams:        walk(""),
		streamsBounded: walk(` AND ev.stream_id < $5`),
		countStreams: `WITH RECURSIVE s(stream_id, n) AS (
			(SELECT stream_id, 1 FROM ` + events + ` ORDER BY stream_id LIMIT 1)
			UNION ALL
			SELECT (SELECT ev.stream_id FROM ` + events + ` ev WHERE ev.stream_id > s.stream_id ORDER BY ev.stream_id LIMIT 1), s.n + 1
			FROM s WHERE s.stream_id IS NOT NULL AND s.n <= $1)
		SELECT count(*) FROM s WHERE s.stream_id IS NOT NULL`,
		// The planner's statistics: rows, and distinct stream IDs (negative:
		// a fraction of the rows).
		statsEstimate: `SELECT c.reltuples::bigint, coalesce((SELECT st.n_distinct FROM pg_stats st
			WHERE st.schemaname = $1 AND st.tablename = 'events' AND st.attname = 'stream_id'), 0)::float8
			FROM pg_class c WHERE c.oid = to_regclass($2)`,
		recent: `SELECT recorded_at FROM ` + events + ` ORDER BY transaction_id DESC, position DESC LIMIT $1`,
		// lag counts, among at most $6 events after a checkpoint ($1, $2)
		// and below the horizon, those passing the projection's filter
		// ($3 types, $4 prefixes), and the oldest one's time.
		lag: `SELECT count(*) FILTER (WHERE x.m), min(x.recorded_at) FILTER (WHERE x.m), count(*) FROM (
			SELECT ev.recorded_at, ($3::text[] IS NULL OR ev.type = ANY ($3::text[]))
				AND ($4::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($4::text[]) p WHERE starts_with(ev.stream_id, p))) AS m
			FROM ` + events + ` ev WHERE (ev.transaction_id, ev.position) > ($1, $2) AND ev.transaction_id < ` + horizon + `
			ORDER BY ev.transaction_id, ev.position LIMIT $5) x`,
		sagaCounts: `SELECT saga, status, count(*) FROM ` + inst + ` GROUP BY saga, status
			UNION ALL SELECT saga, '', 0 FROM (SELECT saga FROM ` + cp + ` UNION SELECT saga FROM ` + park + `) o`,
		sagaParked:  `SELECT saga, count(*) FROM ` + park + ` GROUP BY saga`,
		sagaFailing: `SELECT saga, count(*) FROM ` + out + ` WHERE sent_at IS NULL AND last_error <> '' GROUP BY saga`,
		commands: `SELECT id, saga, instance_id, seq, type, data, causation_id, compensation, step, created_at, attempts, last_error, next_attempt_at, sent_at
			FROM ` + out + ` WHERE id = ANY ($1::uuid[])`,
		parked: `SELECT instance_id, event_id, event_type, stream_id, stream_version, commit_pos, prepare_pos, error, attempts, parked_at
			FROM ` + park + ` WHERE saga = $1 ORDER BY n LIMIT $2`,
		failing: `SELECT id, saga, instance_id, seq, type, data, causation_id, compensation, step, created_at, attempts, last_error, next_attempt_at, sent_at
			FROM ` + out + ` WHERE saga = $1 AND sent_at IS NULL AND last_error <> '' ORDER BY created_at, instance_id, seq LIMIT $2`,
	}
}
