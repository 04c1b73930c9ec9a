-- event_columns.sql without stream_id, for the reads of one stream: the
-- caller knows it (every event of the page shares the caller's string).
ev.transaction_id, ev.position, ev.version, ev.event_id, ev.type, ev.data, ev.metadata, ev.recorded_at
