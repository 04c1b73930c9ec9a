-- The horizon and the last event below it.
WITH h AS MATERIALIZED ({{template "horizon.sql"}})
			SELECT h.horizon, ev.transaction_id, ev.position FROM h LEFT JOIN LATERAL (
				SELECT transaction_id, position FROM {{schema}}.events ev WHERE ev.transaction_id < h.horizon
				ORDER BY ev.transaction_id DESC, ev.position DESC LIMIT 1) ev ON true
