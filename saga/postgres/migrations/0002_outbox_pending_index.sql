-- The claim statement checks, per candidate row, that it is its instance's
-- first unsent command. On tables the planner had no statistics for (every
-- fresh or fast-growing outbox), it served that check with
-- saga_outbox_pending (saga, next_attempt_at) — Index Cond saga = $1, then
-- a filter on instance_id over every pending row of the saga — instead of
-- saga_outbox_pending_instance (saga, instance_id, seq): each claim cost
-- O(pending²), up to 300 ms per claim with 2,000 sagas in flight, and the
-- engine ran at a tenth of its speed. Led by next_attempt_at, the pending
-- index can no longer serve that check; it still serves the claim's range
-- scan in next_attempt_at order, with saga checked inside the index.
DROP INDEX {{schema}}.saga_outbox_pending;
CREATE INDEX saga_outbox_pending ON {{schema}}.saga_outbox (next_attempt_at, saga) WHERE sent_at IS NULL;
