-- The global reads' filter: $4 event types, $5 stream ID prefixes (NULL:
-- every one).
 AND ($4::text[] IS NULL OR ev.type = ANY ($4::text[]))
		AND ($5::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($5::text[]) p WHERE starts_with(ev.stream_id, p)))
