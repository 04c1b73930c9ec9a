-- The single-statement append of 2–9 events (see append_one.sql): $4–$7
-- are arrays. The first event goes in on its own, with ON CONFLICT DO
-- NOTHING: a lost race writes nothing. The rest go in only once it did
-- (they read its row), numbered after it, so the append is all or nothing
-- without a statement error, and their positions follow the first's.
/* chronicle.append */ WITH a AS (SELECT $4::uuid[] AS ids, $5::text[] AS types, $6::json[] AS data, $7::json[] AS metadata OFFSET 0),
		first AS (
			INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT x.tid, $1, x.actual + 1, a.ids[1], a.types[1], a.data[1], a.metadata[1]
			  FROM {{template "append_head.sql"}} x, a
			 WHERE x.last_tid <= x.tid
			    ON CONFLICT DO NOTHING
			RETURNING transaction_id, position, version, {{template "stamp.sql"}}),
		rest AS (
			INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
			SELECT f.transaction_id, $1, f.version - 1 + u.ord, u.id, u.typ, u.dat, u.md
			  FROM first f, a, unnest(a.ids, a.types, a.data, a.metadata) WITH ORDINALITY AS u(id, typ, dat, md, ord)
			 WHERE u.ord > 1
			RETURNING transaction_id, position, version)
		SELECT * FROM first
		UNION ALL
		SELECT r.transaction_id, r.position, r.version, f.started, f.epoch_xmin FROM rest r, first f
