-- event_columns for a LEFT JOIN that may yield one row of NULLs (an empty
-- page still returns the horizon); transaction_id -1 marks it.
coalesce(ev.transaction_id, -1), coalesce(ev.position, 0), coalesce(ev.stream_id, ''),
	coalesce(ev.version, 0), coalesce(ev.event_id, '00000000-0000-0000-0000-000000000000'), coalesce(ev.type, ''),
	ev.data, ev.metadata, coalesce(ev.recorded_at, 'epoch')
