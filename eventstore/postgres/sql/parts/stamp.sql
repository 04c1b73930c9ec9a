-- The server's start time and the epoch row's xmin, which the single
-- statement returns after making the Reanchor check (see append_head.sql).
pg_postmaster_start_time() AS started, (SELECT s.xmin::text::bigint FROM {{schema}}.epoch s) AS epoch_xmin
