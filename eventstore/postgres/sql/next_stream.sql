-- See next_all.sql.
SELECT ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type FROM {{schema}}.events ev
			WHERE ev.stream_id = $1 AND ev.version >= $2 ORDER BY ev.version LIMIT $3
