-- The horizon, and top: the highest committed transaction id in the log.
-- When top is not below the horizon, committed events wait behind a
-- transaction in flight.
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + {{template "epoch_offset.sql"}} AS horizon,
		coalesce((SELECT max(transaction_id) FROM {{schema}}.events), -1) AS top
