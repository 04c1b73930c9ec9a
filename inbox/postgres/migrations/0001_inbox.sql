-- One row per message a consumer has processed: written in the same
-- transaction as the handler's effects, so a redelivery finds it.
CREATE TABLE {{schema}}.inbox_processed (
	consumer     text        NOT NULL,
	message_id   text        NOT NULL,
	processed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_processed_age ON {{schema}}.inbox_processed (consumer, processed_at);

-- Messages whose handler failed: counting attempts ('failing'), then given
-- up on ('parked') with their content, for operators.
CREATE TABLE {{schema}}.inbox_failures (
	consumer        text        NOT NULL,
	message_id      text        NOT NULL,
	state           text        NOT NULL DEFAULT 'failing' CHECK (state IN ('failing', 'parked')),
	attempts        integer     NOT NULL DEFAULT 0,
	type            text        NOT NULL DEFAULT '',
	subject         text        NOT NULL DEFAULT '',
	attributes      jsonb       NOT NULL DEFAULT '{}',
	data            bytea,
	last_error      text        NOT NULL DEFAULT '',
	first_failed_at timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer, message_id)
);
