-- Whether the store needs Reanchor (see parts/restored.sql), and the stamp
-- under which that was checked: the server's start time and the epoch
-- row's xmin (see parts/append_head.sql).
SELECT {{template "restored.sql" "ep.offset_xid"}}, pg_postmaster_start_time(), ep.xmin::text::bigint
	  FROM {{schema}}.epoch ep WHERE ep.singleton
