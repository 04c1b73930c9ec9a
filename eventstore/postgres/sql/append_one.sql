-- append_one, append_many and append_batch are the common append as one
-- INSERT: the stream's version and last transaction id come from its
-- highest-version event, the expected version ($2 kind, $3 version; see
-- appendArgs) and the order guard are checked in the same statement, and it
-- writes nothing when either fails (the caller then runs append_events to
-- learn why).
--
-- Two appends racing for the same version meet at the primary key: the
-- second waits for the first to end and then, if it committed, fails with a
-- unique violation, and so does an append whose event ID is stored already
-- (an idempotent retry, or the ID in another stream); the caller finds out
-- which (see Store.Append). A failed statement writes nothing, so a
-- multi-event append is all or nothing. A lost race is an error, and pgx
-- drops a statement from its cache whenever the statement fails: the next
-- append on that connection would prepare and plan it again (five custom
-- plans before a generic one). So the store prepares these three under
-- names of its own on each connection (preparedStmt), which pgx keeps
-- through errors.
--
-- Migration 5's first shape wrote the first event with ON CONFLICT DO
-- NOTHING and the rest after it in a chain of CTEs, so that a lost race was
-- an empty result rather than an error. That cost the common case, an
-- append that wins: the conflict pre-check of both unique indexes and the
-- chain (measured on one connection, 10 events: 410 µs against 387 µs for
-- the single INSERT and 359 µs for the checked baseline; 8 writers on
-- distinct streams, 0.84–0.87 of the checked baseline against 0.86–0.92).
-- The leading comment names the statement in pg_stat_activity and
-- pg_stat_statements.
--
-- They are shaped so that PostgreSQL settles on a generic plan after its
-- five custom ones instead of planning every call again (planning cost up
-- to a quarter of an append). The generic plan counts 10 elements in an
-- array parameter; a custom plan counts the real ones, so below 10 it looks
-- cheaper and wins every time. Hence one event goes as scalars
-- (append_one); 2–9 events (append_many) pass their arrays through a
-- subquery the planner cannot flatten (OFFSET 0), so no plan can count
-- them; 10 or more (append_batch) unnest the parameters directly, which the
-- generic plan already favours and which saves append_many's Memoize node
-- (measured: 3-event appends at 0.65 of the raw baseline unnesting
-- directly, 0.85 through the subquery; 10-event appends 0.85 through the
-- subquery, 0.88 directly).
--
-- $1 stream, $2 kind, $3 version, $4 event ID, $5 type, $6 data,
-- $7 metadata, $8 and $9 the stamp under which the Reanchor check last
-- passed (see parts/append_head.sql).
/* chronicle.append */ INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + 1, $4::uuid, $5::text, $6::json, $7::json
			  FROM {{template "append_head.sql"}} x
			 WHERE x.last_tid <= x.tid
			RETURNING transaction_id, position, version
