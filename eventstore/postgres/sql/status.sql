-- Store.Status: the horizon, the epoch offset, the first transaction id not
-- yet handed out (both plus the offset), the highest stored transaction id,
-- and the age and pid of the oldest transaction holding the horizon.
WITH oldest AS (
			SELECT pid, xact_start FROM pg_stat_activity WHERE backend_xid IS NOT NULL
			UNION ALL
			SELECT 0, prepared FROM pg_prepared_xacts
			ORDER BY 2 LIMIT 1)
		SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + ep.offset_xid,
		       ep.offset_xid,
		       pg_snapshot_xmax(pg_current_snapshot())::text::bigint + ep.offset_xid,
		       coalesce((SELECT max(transaction_id) FROM {{schema}}.events), 0),
		       coalesce((SELECT extract(epoch FROM clock_timestamp() - xact_start)::float8 FROM oldest), 0),
		       (SELECT pid FROM oldest)
		FROM {{schema}}.epoch ep
