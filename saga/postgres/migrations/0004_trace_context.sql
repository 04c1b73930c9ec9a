-- The W3C trace context a command was decided in, and a deadline
-- scheduled in, so that dispatching the command and firing the deadline
-- continue the trace of the events that caused them (see
-- docs/observability.md). Empty when there was none.
ALTER TABLE {{schema}}.saga_outbox
	ADD COLUMN traceparent text NOT NULL DEFAULT '',
	ADD COLUMN tracestate text NOT NULL DEFAULT '';
ALTER TABLE {{schema}}.saga_deadlines
	ADD COLUMN traceparent text NOT NULL DEFAULT '',
	ADD COLUMN tracestate text NOT NULL DEFAULT '';
