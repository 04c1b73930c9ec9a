-- End server session $1.
SELECT pg_terminate_backend($1)
