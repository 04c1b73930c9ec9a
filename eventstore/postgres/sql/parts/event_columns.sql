-- The columns every read selects, in scan order.
ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type, ev.data, ev.metadata, ev.recorded_at
