-- Why the single statement wrote nothing: the stream's version ($1),
-- whether any of the event IDs ($2) is stored, whether the store needs
-- Reanchor, and the server's start time and the epoch row's xmin, the
-- stamp under which that check was made (see parts/append_head.sql).
SELECT coalesce((SELECT e.version FROM {{schema}}.events e WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1), 0),
			EXISTS (SELECT 1 FROM {{schema}}.events e WHERE e.event_id = ANY ($2::uuid[])),
			{{template "restored.sql" "ep.offset_xid"}},
			pg_postmaster_start_time(), ep.xmin::text::bigint
	  FROM {{schema}}.epoch ep WHERE ep.singleton
