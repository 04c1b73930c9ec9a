-- read_all backwards: a page before ($1, $2).
WITH h AS MATERIALIZED ({{template "horizon_top.sql"}})
			SELECT h.horizon, h.top, {{template "nullable_columns.sql"}} FROM h LEFT JOIN LATERAL (
				SELECT * FROM {{schema}}.events ev
				WHERE (ev.transaction_id, ev.position) < ($1, $2) AND ev.transaction_id < h.horizon {{template "filter.sql"}}
				ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT $3) ev ON true
