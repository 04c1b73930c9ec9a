-- A page of the global log after ($1, $2), $3 events at most, passing the
-- filter ($4, $5), below a horizon ($6) an earlier read_all.sql returned:
-- ReadAll and Subscribe read on below the horizon of a page while pages
-- come back full (everything below an earlier horizon is as final as below
-- a later one). The index scan alone, without taking the horizon and the
-- top and the lateral join around them.
SELECT {{template "event_columns.sql"}} FROM {{schema}}.events ev
			WHERE (ev.transaction_id, ev.position) > ($1, $2) AND ev.transaction_id < $6 {{template "filter.sql"}}
			ORDER BY ev.transaction_id, ev.position LIMIT $3
