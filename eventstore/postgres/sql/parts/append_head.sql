-- append_head is the row an append builds on: the stream's version (0 for
-- a new stream) and this transaction's id plus the epoch offset; no row
-- when the expected version ($2 kind, $3 version: see kind* in append.go)
-- or the per-stream order guard (the stream's last append has a higher
-- transaction id) does not hold.
--
-- It takes the stream's advisory lock in shared mode: single-statement
-- appends do not wait for one another, but they queue behind an
-- append_events call holding (or waiting for) the lock exclusively, so a
-- writer that lost a race and went on to the function is not beaten again
-- and again by newcomers on a hot stream. (A newcomer that waited there
-- computed its version from a snapshot taken before the wait, so it loses
-- at the primary key and queues in the function too.) The key is
-- append_events' own: hashtext('chronicle.eventstore:' || the quoted
-- schema), hashtext(stream). It is a condition of the WHERE clause, not a
-- subquery of its own joined in.
--
-- OFFSET 0 keeps the row a subquery of its own, evaluated once: flattened
-- into the INSERT, its transaction id expression ran again for every event.
-- (Both together: 10-event appends about 1 % faster, the old and the new
-- statement side by side in BenchmarkPaired, in random order.)
--
-- The epoch row is read through its primary key (ep.singleton): the table
-- is never analysed, and the planner took it for hundreds of rows (1,810
-- estimated), so the costs it weighs a generic plan against the custom
-- ones by were the epoch's phantom rows, a few per cent apart, and which
-- won changed as the log grew: connections racing on a young log kept
-- planning custom plans (TestRacingAppendsKeepGenericPlans). Known to be
-- one row, the plan's cost is the append's own work. (A LIMIT 1 subquery
-- gives the same estimate; with it BenchmarkPaired's single-event ratio
-- read 6 points lower in interleaved runs, though the statement alone
-- timed the same.)
--
-- The Reanchor check (restored.sql) is not made here. It reads the end of
-- the global order index, where the appends of other writers still in
-- flight sit: under 8 writers it cost PostgreSQL about a tenth of the
-- statement's throughput. Its answer can only change when the server is
-- another one (a restore on another cluster: another postmaster start
-- time) or the epoch row is another one (a restore into this cluster, a
-- Reanchor: another xmin). So the store makes it apart, in diagnose.sql,
-- which returns that pair with its answer, and the single statement writes
-- only when both are still the pair ($8, $9; see Store.stamp) under which
-- the check last passed; otherwise it writes nothing, and the store checks
-- again (Store.appendEvents). Even skipped behind a stamp that matched, the
-- check cost the statement about 3 % on one connection (its subplan, over
-- another index, was set up on every execution), and the subquery that
-- returned the pair 2 % more. append_events always makes it.
(SELECT coalesce(l.version, 0) AS actual, pg_current_xact_id()::text::bigint + ep.offset_xid AS tid
		FROM {{schema}}.epoch ep LEFT JOIN LATERAL (
			SELECT e.version, e.transaction_id FROM {{schema}}.events e
			WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1) l ON true
		WHERE ep.singleton
		  AND pg_advisory_xact_lock_shared(hashtext('chronicle.eventstore:{{schema}}'), hashtext($1)) IS NOT NULL
		  AND CASE $2::smallint WHEN 0 THEN true WHEN 1 THEN l.version IS NULL WHEN 2 THEN l.version IS NOT NULL
			ELSE coalesce(l.version, 0) = $3::bigint END
		  AND coalesce(l.transaction_id, 0) <= pg_current_xact_id()::text::bigint + ep.offset_xid
		  AND $8::timestamptz = pg_postmaster_start_time() AND $9::bigint = ep.xmin::text::bigint
		OFFSET 0)
