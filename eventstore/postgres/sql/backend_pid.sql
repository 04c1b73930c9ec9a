-- The server session's pid, to check that connections report their own.
SELECT pg_backend_pid()
