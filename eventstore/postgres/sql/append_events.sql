-- The full append path (migrations 2–4): appends inside a caller's
-- transaction, and every append the single statement did not write.
-- $1 stream, $2 kind, $3 version, $4 look for stored event IDs first,
-- $5–$8 the events' columns as arrays.
SELECT status, coalesce(version, 0), actual, conflict_id, reason, tids, positions
	FROM {{schema}}.append_events($1, $2, $3, $4, $5, $6, $7, $8)
