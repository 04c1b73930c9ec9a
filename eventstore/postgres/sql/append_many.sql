-- The single-statement append of 2–9 events (see append_one.sql): $4–$7
-- are arrays, passed through a subquery the planner cannot flatten (OFFSET
-- 0), so that no plan counts their elements. One INSERT: a lost race or a
-- stored event ID fails it whole, so the append is all or nothing.
/* chronicle.append */ INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + u.ord, u.id, u.typ, u.dat, u.md
			  FROM {{template "append_head.sql"}} x,
			       (SELECT $4::uuid[] AS ids, $5::text[] AS types, $6::json[] AS data, $7::json[] AS metadata OFFSET 0) a,
			       unnest(a.ids, a.types, a.data, a.metadata) WITH ORDINALITY AS u(id, typ, dat, md, ord)
			RETURNING transaction_id, position, version
