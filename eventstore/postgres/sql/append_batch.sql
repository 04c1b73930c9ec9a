-- The single-statement append of 10 events or more (see append_one.sql):
-- $4–$7 are arrays, unnested directly. One INSERT: a lost race or a stored
-- event ID fails it whole, so the append is all or nothing.
/* chronicle.append */ INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + u.ord, u.id, u.typ, u.dat, u.md
			  FROM {{template "append_head.sql"}} x,
			       unnest($4::uuid[], $5::text[], $6::json[], $7::json[]) WITH ORDINALITY AS u(id, typ, dat, md, ord)
			RETURNING transaction_id, position, version
