-- See next_all.sql.
SELECT ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type FROM {{schema}}.events ev
			WHERE (ev.transaction_id, ev.position) < ($1, $2) AND ev.transaction_id < ({{template "horizon.sql"}}) {{template "filter.sql"}}
			ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT $3
