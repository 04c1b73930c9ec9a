package postgres

import (
	"strings"

	"github.com/chronicle-go/chronicle/pgmigrate"
)

// statements holds the store's SQL, built once from the validated schema
// name: nothing else is ever spliced into a statement.
type statements struct {
	appendOne    string
	appendMany   string
	appendBatch  string
	diagnose     string
	restored     string
	findIDs      string
	findPos      string
	nextAll      string
	nextAllBack  string
	nextStream   string
	nextBack     string
	readAt       string
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
	// nextStream is the first stream ID after s.stream_id: one descent of
	// the primary key, so listing streams skips from stream to stream
	// instead of reading their events.
	nextStream := `(SELECT ev.stream_id FROM ` + events + ` ev WHERE ev.stream_id > s.stream_id ORDER BY ev.stream_id LIMIT 1)`
	//
	// The recursive query yields stream IDs in the order it finds them,
	// ascending by construction (each step takes the next larger one);
	// an ORDER BY would make it walk every stream before the LIMIT. With a
	// prefix ($3), the walk starts at the prefix: every ID that starts
	// with it sorts at or after it in any collation (it cannot stop at the
	// first ID past the prefix, though: linguistic collations interleave).
	listStreams := func(start, filter string) string {
		return `WITH RECURSIVE s(stream_id) AS (
				(SELECT ev.stream_id FROM ` + events + ` ev WHERE ev.stream_id > $1` + start + ` ORDER BY ev.stream_id LIMIT 1)
				UNION ALL
				SELECT ` + nextStream + ` FROM s WHERE s.stream_id IS NOT NULL)
			SELECT s.stream_id, (SELECT ev.version FROM ` + events + ` ev WHERE ev.stream_id = s.stream_id ORDER BY ev.version DESC LIMIT 1)
			FROM s WHERE s.stream_id IS NOT NULL` + filter + ` LIMIT $2`
	}
	// appendHead is the row an append builds on: the stream's version and
	// the transaction id of its last append (0 for a new stream), and this
	// transaction's id plus the epoch offset; no row when the expected
	// version ($2, $3) does not hold.
	//
	// It takes the stream's advisory lock in shared mode: single-statement
	// appends do not wait for one another, but they queue behind an
	// append_events call holding (or waiting for) the lock exclusively, so
	// a writer that lost a race and went on to the function is not beaten
	// again and again by newcomers on a hot stream. (A newcomer that waited
	// there computed its version from a snapshot taken before the wait, so
	// it loses at the primary key and queues in the function too.) The
	// key is append_events' own: hashtext('chronicle.eventstore:' || the
	// quoted schema), hashtext(stream).
	lockKey := `hashtext('chronicle.eventstore:` + strings.ReplaceAll(pgmigrate.Quote(schema), `'`, `''`) + `')`
	// restored is true while the store needs Reanchor: the highest stored
	// transaction id, not counting the rows of the statement's own
	// transaction, is at or above the snapshot's xmax (one past the latest
	// completed transaction) plus the offset. No committed row can be there
	// in a healthy store, so it only ever refuses after a restore
	// (migration 3 explains). It is written as max() so that the planner
	// reads the end of the global order index, a few tuples; as an EXISTS
	// over transaction_id >= xmax it chose a scan of the whole table, which
	// made every append as slow as the log was long.
	restored := func(offset string) string {
		return `(coalesce((SELECT max(r.transaction_id) FROM ` + events + ` r
			WHERE r.transaction_id <> coalesce(pg_current_xact_id_if_assigned()::text::bigint + ` + offset + `, -1)), -1)
			>= pg_snapshot_xmax(pg_current_snapshot())::text::bigint + ` + offset + `)`
	}
	// The Reanchor check reads the end of the global order index, where
	// the appends of other writers still in flight sit: under 8 writers it
	// cost PostgreSQL about a tenth of the statement's throughput. It can
	// only change its answer when the server is another one (a restore on
	// another cluster: another postmaster start time) or the epoch row is
	// another one (a restore into this cluster, a Reanchor: another xmin).
	// So the single statement skips it when both are what an earlier
	// append, which made it, returned ($8, $9; see Store.stamp); otherwise
	// it makes it, and returns the pair for the next appends. append_events
	// and the check after a refusal always make it.
	stamp := `pg_postmaster_start_time(), (SELECT s.xmin::text::bigint FROM ` + epoch + ` s)`
	appendHead := `(SELECT coalesce(l.version, 0) AS actual, coalesce(l.transaction_id, 0) AS last_tid,
			pg_current_xact_id()::text::bigint + ep.offset_xid AS tid
		FROM (SELECT pg_advisory_xact_lock_shared(` + lockKey + `, hashtext($1))) lk,
			` + epoch + ` ep LEFT JOIN LATERAL (
			SELECT e.version, e.transaction_id FROM ` + events + ` e
			WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1) l ON true
		WHERE CASE $2::smallint WHEN 0 THEN true WHEN 1 THEN l.version IS NULL WHEN 2 THEN l.version IS NOT NULL
			ELSE coalesce(l.version, 0) = $3::bigint END
		  AND (($8::timestamptz = pg_postmaster_start_time() AND $9::bigint = ep.xmin::text::bigint)
		       OR NOT ` + restored("ep.offset_xid") + `))`
	return statements{
		// appendOne, appendMany and appendBatch are the common append as
		// one INSERT:
		// the stream's version and last transaction id come from its
		// highest-version event, the expected version ($2 kind, $3 version;
		// see appendArgs) and the order guard are checked in the same
		// statement, and it writes nothing when either fails (the caller
		// then runs append_events to learn why). Two appends racing for the
		// same version meet at the primary key: the second fails with a
		// unique violation once the first commits. The leading comment
		// names the statement in pg_stat_activity and pg_stat_statements.
		//
		// They are shaped so that PostgreSQL settles on a generic plan
		// after its five custom ones instead of planning every call again
		// (planning cost up to a quarter of an append). The generic plan
		// counts 10 elements in an array parameter; a custom plan counts
		// the real ones, so below 10 it looks cheaper and wins every time.
		// Hence one event goes as scalars (appendOne); 2–9 events
		// (appendMany) pass their arrays through a subquery the planner
		// cannot flatten (OFFSET 0), so no plan can count them; 10 or more
		// (appendBatch) unnest the parameters directly, which the generic
		// plan already favours and which saves appendMany's Memoize node
		// (measured: 3-event appends at 0.65 of the raw baseline unnesting
		// directly, 0.85 through the subquery; 10-event appends 0.85
		// through the subquery, 0.88 directly).
		appendOne: `/* chronicle.append */ INSERT INTO ` + events + ` (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + 1, $4::uuid, $5::text, $6::json, $7::json
			  FROM ` + appendHead + ` x
			 WHERE x.last_tid <= x.tid
			RETURNING transaction_id, position, version, ` + stamp,
		appendMany: `/* chronicle.append */ INSERT INTO ` + events + ` (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + u.ord, u.id, u.typ, u.dat, u.md
			  FROM ` + appendHead + ` x,
			       (SELECT $4::uuid[] AS ids, $5::text[] AS types, $6::json[] AS data, $7::json[] AS metadata OFFSET 0) a,
			       unnest(a.ids, a.types, a.data, a.metadata) WITH ORDINALITY AS u(id, typ, dat, md, ord)
			 WHERE x.last_tid <= x.tid
			RETURNING transaction_id, position, version, ` + stamp,
		appendBatch: `/* chronicle.append */ INSERT INTO ` + events + ` (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + u.ord, u.id, u.typ, u.dat, u.md
			  FROM ` + appendHead + ` x,
			       unnest($4::uuid[], $5::text[], $6::json[], $7::json[]) WITH ORDINALITY AS u(id, typ, dat, md, ord)
			 WHERE x.last_tid <= x.tid
			RETURNING transaction_id, position, version, ` + stamp,
		// diagnose: the stream's version, whether any of the event IDs
		// ($2) is stored, and whether the store needs Reanchor, after the
		// single statement wrote nothing.
		diagnose: `SELECT coalesce((SELECT e.version FROM ` + events + ` e WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1), 0),
			EXISTS (SELECT 1 FROM ` + events + ` e WHERE e.event_id = ANY ($2::uuid[])),
			` + restored(offset),
		restored: `SELECT ` + restored(offset),
		// findIDs: where each of the event IDs ($1) is stored.
		findIDs: `SELECT e.event_id, e.stream_id, e.version, e.transaction_id, e.position FROM ` + events + ` e
			WHERE e.event_id = ANY ($1::uuid[])`,
		// findPos: how many of the positions ($1 transaction ids, $2
		// positions) hold an event.
		findPos: `SELECT count(*) FROM unnest($1::bigint[], $2::bigint[]) p(tid, pos)
			WHERE EXISTS (SELECT 1 FROM ` + events + ` e WHERE e.transaction_id = p.tid AND e.position = p.pos)`,
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
		streamExists: `SELECT EXISTS (SELECT 1 FROM ` + events + ` WHERE stream_id = $1)`,
		// nextAll, nextAllBack, nextStream and nextBack name the event a
		// failed page read would have delivered next (after the last one it
		// did deliver), with the columns that cannot fail to print: the
		// suspect, when a read fails on one event (see unreadable.go). They
		// take the same arguments as readAll, readAllBack, readStream and
		// readBack, and reach the same event: below the horizon, nothing
		// can appear before it.
		nextAll: `SELECT ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type FROM ` + events + ` ev
			WHERE (ev.transaction_id, ev.position) > ($1, $2) AND ev.transaction_id < (` + horizon + `)` + filter + `
			ORDER BY ev.transaction_id, ev.position LIMIT $3`,
		nextAllBack: `SELECT ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type FROM ` + events + ` ev
			WHERE (ev.transaction_id, ev.position) < ($1, $2) AND ev.transaction_id < (` + horizon + `)` + filter + `
			ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT $3`,
		nextStream: `SELECT ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type FROM ` + events + ` ev
			WHERE ev.stream_id = $1 AND ev.version >= $2 ORDER BY ev.version LIMIT $3`,
		nextBack: `SELECT ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type FROM ` + events + ` ev
			WHERE ev.stream_id = $1 AND ev.version <= $2 ORDER BY ev.version DESC LIMIT $3`,
		// readAt reads the one event at a position.
		readAt: `SELECT ` + eventColumns + ` FROM ` + events + ` ev WHERE ev.transaction_id = $1 AND ev.position = $2`,
		head: `WITH h AS MATERIALIZED (` + horizon + `)
			SELECT h.horizon, ev.transaction_id, ev.position FROM h LEFT JOIN LATERAL (
				SELECT transaction_id, position FROM ` + events + ` ev WHERE ev.transaction_id < h.horizon
				ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT 1) ev ON true`,
		streams:     listStreams("", ""),
		streamsLike: listStreams(` AND ev.stream_id >= $3`, ` AND starts_with(s.stream_id, $3)`),
		epoch:       `SELECT offset_xid FROM ` + epoch,
	}
}
