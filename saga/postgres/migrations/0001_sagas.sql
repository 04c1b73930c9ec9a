-- Saga instances: the versioned state of each instance.
CREATE TABLE {{schema}}.saga_instances (
	saga             text        NOT NULL,
	id               text        NOT NULL,
	status           text        NOT NULL CHECK (status IN ('running', 'completed', 'compensating', 'compensated')),
	reason           text        NOT NULL DEFAULT '',
	state            bytea       NOT NULL,
	version          bigint      NOT NULL CHECK (version > 0),
	steps            jsonb       NOT NULL DEFAULT '[]',
	seq              bigint      NOT NULL DEFAULT 0,
	position_commit  bigint      NOT NULL DEFAULT 0,
	position_prepare bigint      NOT NULL DEFAULT 0,
	started_at       timestamptz NOT NULL,
	updated_at       timestamptz NOT NULL,
	PRIMARY KEY (saga, id)
);
CREATE INDEX saga_instances_status ON {{schema}}.saga_instances (saga, status, id);

-- The outbox: commands decided by a handler, committed with the state,
-- sent by the dispatcher. Sent rows stay: they are the instance's history.
CREATE TABLE {{schema}}.saga_outbox (
	id              uuid        PRIMARY KEY,
	saga            text        NOT NULL,
	instance_id     text        NOT NULL,
	seq             bigint      NOT NULL,
	type            text        NOT NULL,
	data            bytea       NOT NULL,
	causation_id    text        NOT NULL DEFAULT '',
	compensation    boolean     NOT NULL DEFAULT false,
	step            text        NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	attempts        integer     NOT NULL DEFAULT 0,
	last_error      text        NOT NULL DEFAULT '',
	next_attempt_at timestamptz NOT NULL,
	lease_until     timestamptz,
	sent_at         timestamptz,
	UNIQUE (saga, instance_id, seq)
);
CREATE INDEX saga_outbox_pending ON {{schema}}.saga_outbox (saga, next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX saga_outbox_pending_instance ON {{schema}}.saga_outbox (saga, instance_id, seq) WHERE sent_at IS NULL;

-- Deadlines: one row per pending timer.
CREATE TABLE {{schema}}.saga_deadlines (
	saga        text        NOT NULL,
	instance_id text        NOT NULL,
	name        text        NOT NULL,
	due_at      timestamptz NOT NULL,
	lease_until timestamptz,
	PRIMARY KEY (saga, instance_id, name)
);
CREATE INDEX saga_deadlines_due ON {{schema}}.saga_deadlines (saga, due_at);

-- History: what happened to each instance, in order.
CREATE TABLE {{schema}}.saga_history (
	n                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	saga             text        NOT NULL,
	instance_id      text        NOT NULL,
	at               timestamptz NOT NULL,
	kind             text        NOT NULL,
	event_id         uuid,
	event_type       text        NOT NULL DEFAULT '',
	position_commit  bigint      NOT NULL DEFAULT 0,
	position_prepare bigint      NOT NULL DEFAULT 0,
	detail           text        NOT NULL DEFAULT ''
);
CREATE INDEX saga_history_instance ON {{schema}}.saga_history (saga, instance_id, n);

-- Parked events: events a handler kept failing on, with the error.
CREATE TABLE {{schema}}.saga_parked (
	n                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	saga             text        NOT NULL,
	instance_id      text        NOT NULL,
	event_id         uuid        NOT NULL,
	event_type       text        NOT NULL,
	stream_id        text        NOT NULL,
	stream_version   bigint      NOT NULL,
	position_commit  bigint      NOT NULL,
	position_prepare bigint      NOT NULL,
	error            text        NOT NULL,
	attempts         integer     NOT NULL,
	parked_at        timestamptz NOT NULL
);
CREATE INDEX saga_parked_saga ON {{schema}}.saga_parked (saga, n);

-- The engine's checkpoint per saga; epoch fences the subscription lease.
CREATE TABLE {{schema}}.saga_checkpoints (
	saga             text        PRIMARY KEY,
	position_commit  bigint      NOT NULL DEFAULT 0,
	position_prepare bigint      NOT NULL DEFAULT 0,
	epoch            bigint      NOT NULL DEFAULT 0,
	updated_at       timestamptz NOT NULL DEFAULT now()
);
