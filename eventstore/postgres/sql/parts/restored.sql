-- restored is true while the store needs Reanchor: the highest stored
-- transaction id, not counting the rows of the statement's own
-- transaction, is at or above the snapshot's xmax (one past the latest
-- completed transaction) plus the offset (the template's argument: an
-- expression). No committed row can be there in a healthy store, so it only
-- ever refuses after a restore (migration 3 explains). It is written as
-- max() so that the planner reads the end of the global order index, a few
-- tuples; as an EXISTS over transaction_id >= xmax it chose a scan of the
-- whole table, which made every append as slow as the log was long.
(coalesce((SELECT max(r.transaction_id) FROM {{schema}}.events r
			WHERE r.transaction_id <> coalesce(pg_current_xact_id_if_assigned()::text::bigint + {{.}}, -1)), -1)
			>= pg_snapshot_xmax(pg_current_snapshot())::text::bigint + {{.}})
