-- Store.Horizon: the last committed event (tip), the last one below the
-- horizon (head), and the transaction holding the horizon: the one whose ID
-- is the oldest still running in the cluster, in any database (or a
-- prepared transaction).
WITH x AS MATERIALIZED (
			SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin,
			       pg_snapshot_xmin(pg_current_snapshot())::text::bigint + {{template "epoch_offset.sql"}} AS horizon),
		tip AS (SELECT transaction_id, position FROM {{schema}}.events ORDER BY transaction_id DESC, position DESC LIMIT 1),
		head AS (SELECT ev.transaction_id, ev.position FROM x, LATERAL (
			SELECT transaction_id, position FROM {{schema}}.events WHERE transaction_id < x.horizon
			ORDER BY transaction_id DESC, position DESC LIMIT 1) ev),
		holder AS (
			SELECT a.pid, a.datname::text AS db, a.backend_xid::text::bigint AS xid, a.application_name AS app, a.state, a.xact_start AS since
			FROM pg_stat_activity a, x WHERE a.backend_xid = xid(x.xmin)
			UNION ALL
			SELECT 0, p.database::text, p.transaction::text::bigint, p.gid, 'prepared', p.prepared
			FROM pg_prepared_xacts p, x WHERE p.transaction = xid(x.xmin)
			LIMIT 1)
		SELECT tip.transaction_id, tip.position, head.transaction_id, head.position,
		       holder.pid, holder.db, holder.xid, holder.app, holder.state, holder.since
		FROM (SELECT 1) one LEFT JOIN tip ON true LEFT JOIN head ON true LEFT JOIN holder ON true
