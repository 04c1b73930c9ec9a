-- How many of the positions ($1 transaction ids, $2 positions) hold an
-- event.
SELECT count(*) FROM unnest($1::bigint[], $2::bigint[]) p(tid, pos)
			WHERE EXISTS (SELECT 1 FROM {{schema}}.events e WHERE e.transaction_id = p.tid AND e.position = p.pos)
