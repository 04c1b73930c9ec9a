-- The one event at a position ($1 transaction id, $2 position).
SELECT {{template "event_columns.sql"}} FROM {{schema}}.events ev WHERE ev.transaction_id = $1 AND ev.position = $2
