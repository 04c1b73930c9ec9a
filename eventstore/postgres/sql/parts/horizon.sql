-- The horizon: the first transaction id that may still be in flight,
-- shifted by the epoch offset. Every event below it is committed (or gone)
-- for good, so nothing can appear behind a reader that stops there.
-- (A FROM-less SELECT, so the planner knows it is one row: an estimate
-- taken from the never-analysed epoch table once made every read costly
-- enough to be JIT-compiled.)
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + {{template "epoch_offset.sql"}} AS horizon
