-- next_all, next_all_back, next_stream and next_stream_back name the event
-- a failed page read would have delivered next (after the last one it did
-- deliver), with the columns that cannot fail to print: the suspect, when a
-- read fails on one event (see unreadable.go). They take the same arguments
-- as read_all, read_all_back, read_stream and read_stream_back, and reach
-- the same event: below the horizon, nothing can appear before it.
SELECT ev.transaction_id, ev.position, ev.stream_id, ev.version, ev.event_id, ev.type FROM {{schema}}.events ev
			WHERE (ev.transaction_id, ev.position) > ($1, $2) AND ev.transaction_id < ({{template "horizon.sql"}}) {{template "filter.sql"}}
			ORDER BY ev.transaction_id, ev.position LIMIT $3
