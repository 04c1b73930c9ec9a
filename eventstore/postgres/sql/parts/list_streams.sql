-- Stream IDs after $1 with their versions, $2 at most; with the argument
-- true, only those that start with the prefix $3.
--
-- The recursive query yields stream IDs in the order it finds them,
-- ascending by construction (each step takes the next larger one: one
-- descent of the primary key, so listing streams skips from stream to
-- stream instead of reading their events); an ORDER BY would make it walk
-- every stream before the LIMIT. With a prefix, the walk starts at the
-- prefix: every ID that starts with it sorts at or after it in any collation
-- (it cannot stop at the first ID past the prefix, though: linguistic
-- collations interleave).
WITH RECURSIVE s(stream_id) AS (
				(SELECT ev.stream_id FROM {{schema}}.events ev WHERE ev.stream_id > $1{{if .}} AND ev.stream_id >= $3{{end}} ORDER BY ev.stream_id LIMIT 1)
				UNION ALL
				SELECT (SELECT ev.stream_id FROM {{schema}}.events ev WHERE ev.stream_id > s.stream_id ORDER BY ev.stream_id LIMIT 1) FROM s WHERE s.stream_id IS NOT NULL)
			SELECT s.stream_id, (SELECT ev.version FROM {{schema}}.events ev WHERE ev.stream_id = s.stream_id ORDER BY ev.version DESC LIMIT 1)
			FROM s WHERE s.stream_id IS NOT NULL{{if .}} AND starts_with(s.stream_id, $3){{end}} LIMIT $2
