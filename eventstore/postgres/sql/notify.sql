-- The wake-up for other processes on channel $1, sent only when some
-- process listens: every listening connection holds the listeners' lock
-- (listen.sql) in shared mode, so when this statement can take it
-- exclusively, nobody listens and it sends nothing. A NOTIFY takes a
-- transaction id, so its commit is a WAL record; a process that only
-- appends would spend one every Config.NotifyInterval for nobody. (Taking
-- the lock needs no transaction id; it is held to the statement's end.) A
-- wake-up lost in a crash costs nothing (the subscribers poll), so the
-- commit of one that is sent does not wait for synchronous_commit's flush,
-- in the appends' way; the notification is delivered at commit all the
-- same.
SELECT pg_notify($1, '')
	  FROM (SELECT set_config('synchronous_commit', 'off', true)) c
	 WHERE NOT pg_try_advisory_xact_lock(hashtextextended('chronicle.listeners:{{schema}}', 0))
