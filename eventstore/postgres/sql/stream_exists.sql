-- Whether stream $1 holds an event.
SELECT EXISTS (SELECT 1 FROM {{schema}}.events WHERE stream_id = $1)
