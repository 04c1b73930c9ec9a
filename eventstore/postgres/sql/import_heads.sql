-- Import: the epoch offset, and each stream's ($1) version and the
-- transaction id of its last append. LEFT: one row per stream even when
-- every stream is new, so the epoch offset is always read.
SELECT {{template "epoch_offset.sql"}}, u.id, l.version, l.transaction_id
		FROM unnest($1::text[]) u(id) LEFT JOIN LATERAL (
			SELECT e.version, e.transaction_id FROM {{schema}}.events e
			WHERE e.stream_id = u.id ORDER BY e.version DESC LIMIT 1) l ON true
