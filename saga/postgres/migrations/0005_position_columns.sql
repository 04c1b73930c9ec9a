-- chronicle sagas, schema version 5: a stored position of the log is spelled
-- commit_pos, prepare_pos (eventstore.Position's Commit and Prepare), as in
-- projection_checkpoints and relay_checkpoints, so one query shape reads every
-- component's checkpoints. A rename only changes the catalog: no row is
-- rewritten, and indexes and constraints follow the columns.
ALTER TABLE {{schema}}.saga_instances RENAME COLUMN position_commit TO commit_pos;
ALTER TABLE {{schema}}.saga_instances RENAME COLUMN position_prepare TO prepare_pos;
ALTER TABLE {{schema}}.saga_history RENAME COLUMN position_commit TO commit_pos;
ALTER TABLE {{schema}}.saga_history RENAME COLUMN position_prepare TO prepare_pos;
ALTER TABLE {{schema}}.saga_parked RENAME COLUMN position_commit TO commit_pos;
ALTER TABLE {{schema}}.saga_parked RENAME COLUMN position_prepare TO prepare_pos;
ALTER TABLE {{schema}}.saga_checkpoints RENAME COLUMN position_commit TO commit_pos;
ALTER TABLE {{schema}}.saga_checkpoints RENAME COLUMN position_prepare TO prepare_pos;
