-- Import: the same per-stream advisory locks as append_events, for the
-- streams $1, taken in one order so concurrent imports cannot deadlock.
SELECT count(pg_advisory_xact_lock(hashtext('chronicle.eventstore:{{schema}}'), q.h))
		FROM (SELECT DISTINCT hashtext(st) AS h FROM unnest($1::text[]) st ORDER BY 1) q
