-- chronicle projections, schema version 3: a stored position of the log is
-- spelled commit_pos, prepare_pos (eventstore.Position's Commit and Prepare)
-- everywhere, with a prefix when a table holds a second one: the failed
-- event's position is failed_commit_pos, failed_prepare_pos (as the sagas'
-- and relays' tables spell theirs). A rename only changes the catalog: no row
-- is rewritten, and the CHECK on failed rows follows the column.
ALTER TABLE {{schema}}.projection_checkpoints RENAME COLUMN failed_commit TO failed_commit_pos;
ALTER TABLE {{schema}}.projection_checkpoints RENAME COLUMN failed_prepare TO failed_prepare_pos;
