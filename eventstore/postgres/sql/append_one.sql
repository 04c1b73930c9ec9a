-- append_one, append_many and append_batch are the common append as one
-- INSERT: the stream's version and last transaction id come from its
-- highest-version event, the expected version ($2 kind, $3 version; see
-- appendArgs) and the order guard are checked in the same statement, and it
-- writes nothing when either fails (the caller then runs append_events to
-- learn why).
--
-- Two appends racing for the same version meet at the primary key: the
-- second waits for the first to end and then, if it committed, writes
-- nothing (ON CONFLICT DO NOTHING on the append's first event, with no
-- target: every unique index, the version's and the event ID's), so a lost
-- race is an empty result like a refused expected version, not an error.
-- The same holds when the first event's ID is stored already (an
-- idempotent retry, whether it raced its original or came after it; or the
-- ID in another stream): nothing written, and the caller finds out why. It
-- must not be an error: pgx drops a cached prepared statement whenever the
-- statement fails, so every lost race made the next append on that
-- connection prepare and plan the statement again (five custom plans
-- before a generic one). Only the first event may be skipped: a
-- multi-event append inserts the rest only after it inserted the first
-- (append_many.sql), so it is all or nothing. Once the first version is
-- taken, no append of this store can hold a later one of the same stream
-- (each inserts its versions in order, starting with the one it read as
-- next), so the rest do not conflict on their versions; a writer outside
-- the store that does, or a later event whose ID is stored (a conflict,
-- not a retry: a retry's first ID is stored too), gets the unique
-- violation, and the whole statement fails.
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
-- $7 metadata, $8 and $9 the stamp an earlier append returned.
/* chronicle.append */ INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + 1, $4::uuid, $5::text, $6::json, $7::json
			  FROM {{template "append_head.sql"}} x
			 WHERE x.last_tid <= x.tid
			    ON CONFLICT DO NOTHING
			RETURNING transaction_id, position, version, {{template "stamp.sql"}}
