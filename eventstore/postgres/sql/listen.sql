-- The listeners' lock (see notify.sql), taken in shared mode by the LISTEN
-- connection for as long as it lives, after its LISTEN: while one is held,
-- appenders send their wake-ups. A single bigint key, a key space apart
-- from the per-stream (int, int) locks.
SELECT pg_advisory_lock_shared(hashtextextended('chronicle.listeners:{{schema}}', 0))
