-- read_below.sql backwards: before ($1, $2), below the horizon $6.
SELECT {{template "event_columns.sql"}} FROM {{schema}}.events ev
			WHERE (ev.transaction_id, ev.position) < ($1, $2) AND ev.transaction_id < $6 {{template "filter.sql"}}
			ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT $3
