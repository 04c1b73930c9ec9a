-- Import: this transaction's id plus the epoch offset ($1), and its time.
SELECT pg_current_xact_id()::text::bigint + $1::bigint, now()
