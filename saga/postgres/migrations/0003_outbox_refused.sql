-- A command its receiver refused for good (command.IsRefused) is settled,
-- not retried: sent_at records when the answer came, refused that it was
-- a refusal, last_error why. The saga fails and compensates.
ALTER TABLE {{schema}}.saga_outbox ADD COLUMN refused boolean NOT NULL DEFAULT false;
