-- What a parked row holds: a message the broker refused for good or an
-- event the mapping failed on ('message', every row parked before), or an
-- event the store could not return ('unreadable': the row keeps only what
-- the store's error named — the event ID as message_id, its type, its
-- stream as subject, its version among the attributes — and a retry reads
-- the event again).
ALTER TABLE {{schema}}.relay_parked ADD COLUMN kind text NOT NULL DEFAULT 'message'
	CHECK (kind IN ('message', 'unreadable'));
