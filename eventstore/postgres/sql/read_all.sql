-- A page of the global log after ($1, $2), $3 events at most, below the
-- horizon, with the horizon and the top (see parts/horizon_top.sql).
--
-- No ORDER BY outside the lateral subquery: sorting its rows again cost a
-- third of a page read, and the nested loop over h's one row yields them in
-- the subquery's order. readPage checks the order and sorts a page only if
-- ever it is not.
WITH h AS MATERIALIZED ({{template "horizon_top.sql"}})
			SELECT h.horizon, h.top, {{template "nullable_columns.sql"}} FROM h LEFT JOIN LATERAL (
				SELECT * FROM {{schema}}.events ev
				WHERE (ev.transaction_id, ev.position) > ($1, $2) AND ev.transaction_id < h.horizon {{template "filter.sql"}}
				ORDER BY ev.transaction_id, ev.position LIMIT $3) ev ON true
