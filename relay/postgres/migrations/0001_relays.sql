-- One row per relay: its checkpoint (every message up to it confirmed by
-- the broker, skipped or parked), counters and last error.
CREATE TABLE {{schema}}.relay_checkpoints (
	name            text        PRIMARY KEY,
	commit_pos      bigint      NOT NULL DEFAULT 0 CHECK (commit_pos >= 0),
	prepare_pos     bigint      NOT NULL DEFAULT 0 CHECK (prepare_pos >= 0),
	checkpoint_at   timestamptz,
	published       bigint      NOT NULL DEFAULT 0,
	event_types     text[]      NOT NULL DEFAULT '{}',
	stream_prefixes text[]      NOT NULL DEFAULT '{}',
	owner           text        NOT NULL DEFAULT '',
	last_error      text        NOT NULL DEFAULT '',
	updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Messages the broker refused for good (or events the mapping failed on),
-- kept with their content until an operator retries or skips them.
CREATE TABLE {{schema}}.relay_parked (
	relay       text        NOT NULL REFERENCES {{schema}}.relay_checkpoints (name) ON DELETE CASCADE,
	message_id  text        NOT NULL,
	commit_pos  bigint      NOT NULL,
	prepare_pos bigint      NOT NULL,
	state       text        NOT NULL DEFAULT 'parked' CHECK (state IN ('parked', 'retry')),
	type        text        NOT NULL DEFAULT '',
	subject     text        NOT NULL DEFAULT '',
	attributes  jsonb       NOT NULL DEFAULT '{}',
	data        bytea,
	error       text        NOT NULL DEFAULT '',
	attempts    integer     NOT NULL DEFAULT 1,
	parked_at   timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (relay, message_id)
);
