-- Whether server session $1 is still there, and whether it is the one on
-- client port $2.
SELECT count(*) > 0, coalesce(bool_or(client_port = $2), false)
			FROM pg_stat_activity WHERE pid = $1
