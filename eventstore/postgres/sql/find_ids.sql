-- Where each of the event IDs ($1) is stored.
SELECT e.event_id, e.stream_id, e.version, e.transaction_id, e.position FROM {{schema}}.events e
			WHERE e.event_id = ANY ($1::uuid[])
