-- chronicle aggregate snapshots, schema version 1.
--
-- One row per stream: the latest snapshot of the aggregate that lives in it.
-- A write never replaces a row with a higher version (see SaveSnapshot).
-- data is bytes, not jsonb: the repository's snapshot codec decides the
-- encoding (JSON by default).
CREATE TABLE {{schema}}.snapshots (
    stream_id      text        PRIMARY KEY,
    aggregate_type text        NOT NULL,
    version        bigint      NOT NULL CHECK (version > 0),
    schema_version integer     NOT NULL CHECK (schema_version > 0),
    data           bytea       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
