-- Why the single statement wrote nothing: the stream's version ($1),
-- whether any of the event IDs ($2) is stored, and whether the store needs
-- Reanchor.
SELECT coalesce((SELECT e.version FROM {{schema}}.events e WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1), 0),
			EXISTS (SELECT 1 FROM {{schema}}.events e WHERE e.event_id = ANY ($2::uuid[])),
			{{template "restored.sql" (print "(SELECT offset_xid FROM " schema ".epoch)")}}
