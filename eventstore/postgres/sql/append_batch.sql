-- The single-statement append of 10 events or more (see append_one.sql and
-- append_many.sql): $4–$7 are arrays, unnested directly.
/* chronicle.append */ WITH first AS (
			INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + 1, ($4::uuid[])[1], ($5::text[])[1], ($6::json[])[1], ($7::json[])[1]
			  FROM {{template "append_head.sql"}} x
			 WHERE x.last_tid <= x.tid
			    ON CONFLICT DO NOTHING
			RETURNING transaction_id, position, version, {{template "stamp.sql"}}),
		rest AS (
			INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT f.transaction_id, $1, f.version - 1 + u.ord, u.id, u.typ, u.dat, u.md
			  FROM first f, unnest($4::uuid[], $5::text[], $6::json[], $7::json[]) WITH ORDINALITY AS u(id, typ, dat, md, ord)
			 WHERE u.ord > 1
			RETURNING transaction_id, position, version)
		SELECT * FROM first
		UNION ALL
		SELECT r.transaction_id, r.position, r.version, f.started, f.epoch_xmin FROM rest r, first f
