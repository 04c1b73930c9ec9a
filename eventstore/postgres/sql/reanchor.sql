-- Reanchor: raise the epoch offset so that this transaction's id, and every
-- later one, sorts after the highest stored transaction id. Returns the old
-- and new offsets.
WITH cur AS (
			SELECT ep.offset_xid AS old,
			       pg_current_xact_id()::text::bigint AS xid,
			       coalesce((SELECT max(transaction_id) FROM {{schema}}.events), 0) AS stored
			FROM {{schema}}.epoch ep FOR UPDATE)
		UPDATE {{schema}}.epoch SET offset_xid = greatest(cur.old, cur.stored + 1 - cur.xid),
		       reanchored_at = CASE WHEN cur.stored + 1 - cur.xid > cur.old THEN now() ELSE reanchored_at END
		FROM cur RETURNING cur.old, offset_xid
