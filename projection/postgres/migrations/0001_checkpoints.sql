-- One row per projection: its checkpoint, state and stuck event. Handlers'
-- writes and the checkpoint move commit in one transaction.
CREATE TABLE {{schema}}.projection_checkpoints (
	name               text        PRIMARY KEY,
	commit_pos         bigint      NOT NULL DEFAULT 0 CHECK (commit_pos >= 0),
	prepare_pos        bigint      NOT NULL DEFAULT 0 CHECK (prepare_pos >= 0),
	checkpoint_at      timestamptz,
	handled            bigint      NOT NULL DEFAULT 0,
	state              text        NOT NULL DEFAULT 'running'
	                               CHECK (state IN ('running', 'stopped', 'failed', 'rebuilding')),
	failed_commit      bigint,
	failed_prepare     bigint,
	failed_event_id    uuid,
	failed_stream      text,
	failed_version     bigint,
	failed_type        text,
	failed_recorded_at timestamptz,
	failed_attempts    integer,
	failed_at          timestamptz,
	last_error         text        NOT NULL DEFAULT '',
	event_types        text[]      NOT NULL DEFAULT '{}',
	stream_prefixes    text[]      NOT NULL DEFAULT '{}',
	owner              text        NOT NULL DEFAULT '',
	updated_at         timestamptz NOT NULL DEFAULT now(),
	CHECK ((state = 'failed') = (failed_commit IS NOT NULL))
);
