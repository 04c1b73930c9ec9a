-- The wake-up for other processes on channel $1. A NOTIFY takes a
-- transaction id, so its commit is a WAL record that synchronous_commit
-- would flush to disk before returning, in the appends' way. A wake-up lost
-- in a crash costs nothing (the subscribers poll), so this one commit does
-- not wait for the flush; the notification is delivered at commit all the
-- same.
SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')
