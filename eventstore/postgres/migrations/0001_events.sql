-- chronicle event store, schema version 1.
--
-- events: the global log. Readers order it by (transaction_id, position) and
-- read only below the horizon pg_snapshot_xmin(pg_current_snapshot()) plus
-- the epoch offset (see docs/postgres.md). transaction_id is the appending
-- transaction's pg_current_xact_id() plus epoch.offset_xid, kept as bigint so
-- the offset can be added.
CREATE TABLE {{schema}}.events (
    position       bigint      GENERATED ALWAYS AS IDENTITY,
    transaction_id bigint      NOT NULL,
    stream_id      text        NOT NULL,
    version        bigint      NOT NULL CHECK (version > 0),
    event_id       uuid        NOT NULL,
    type           text        NOT NULL,
    data           jsonb,
    metadata       jsonb,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_stream_version_key PRIMARY KEY (stream_id, version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

-- The global order: ReadAll, Subscribe and Head.
CREATE INDEX events_global_order_idx ON {{schema}}.events (transaction_id, position);

-- streams: one row per stream, locked by every append to it. Neither updated
-- column is indexed, so the update is HOT; the fill factor leaves room for it.
CREATE TABLE {{schema}}.streams (
    stream_id      text   PRIMARY KEY,
    version        bigint NOT NULL,
    transaction_id bigint NOT NULL
) WITH (fillfactor = 70);

-- epoch: one row holding the offset added to transaction ids, raised by
-- Reanchor after a dump/restore so new transactions sort after the restored
-- ones.
CREATE TABLE {{schema}}.epoch (
    singleton     boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    offset_xid    bigint      NOT NULL DEFAULT 0 CHECK (offset_xid >= 0),
    reanchored_at timestamptz
);
INSERT INTO {{schema}}.epoch DEFAULT VALUES;

-- append_events appends events to one stream in one round trip. It does not
-- raise for expected outcomes, so a caller's transaction (AppendTx) stays
-- usable; status says what happened:
--   0 appended; 1 idempotent retry (nothing written, original result);
--   2 version mismatch; 3 event ID stored elsewhere (conflict_id, reason);
--   4 order guard: the stream's last transaction id is above this one's.
-- p_kind: 0 any, 1 no stream, 2 stream exists, 3 exact p_expected.
-- p_check_ids looks for stored event IDs before inserting (else only on a
-- version mismatch; a unique violation then tells the caller to retry with it).
CREATE FUNCTION {{schema}}.append_events(
    p_stream    text,
    p_kind      smallint,
    p_expected  bigint,
    p_check_ids boolean,
    p_ids       uuid[],
    p_types     text[],
    p_data      jsonb[],
    p_metadata  jsonb[],
    OUT status      smallint,
    OUT version     bigint,
    OUT actual      bigint,
    OUT conflict_id uuid,
    OUT reason      text,
    OUT tids        bigint[],
    OUT positions   bigint[]
) LANGUAGE plpgsql AS $fn$
DECLARE
    n          integer := cardinality(p_ids);
    v_exists   boolean;
    v_offset   bigint;
    v_position bigint;
    v_last     bigint;
    v_tid      bigint;
    v_ok       boolean;
    v_stream   text;
    v_version  bigint;
    v_ids      uuid[];
BEGIN
    -- Serialise appends to the stream with a transaction-scoped advisory
    -- lock, taken before this transaction has a transaction id (advisory
    -- locks need none, row locks do): the id is assigned by the writes below,
    -- after the previous holder committed, so it is above that holder's and
    -- the order guard only fires for a caller's transaction that had written
    -- before (AppendTx). With a row lock instead, a waiter takes its id when
    -- it starts waiting and later arrivals can overtake it.
    PERFORM pg_advisory_xact_lock(hashtext('chronicle.eventstore:{{schema}}'), hashtext(p_stream));
    LOOP
        -- A new statement, so a new snapshot: it sees what the lock's
        -- previous holder committed. The epoch is read here too, after any
        -- wait for Reanchor's table locks, so such an append uses the new
        -- offset.
        SELECT ep.offset_xid, s.version, s.transaction_id
          INTO v_offset, actual, v_last
          FROM {{schema}}.epoch ep LEFT JOIN {{schema}}.streams s ON s.stream_id = p_stream;
        v_exists := actual IS NOT NULL;
        IF NOT v_exists THEN
            actual := 0;
            v_last := 0;
        END IF;
        v_ok := CASE p_kind
            WHEN 0 THEN true
            WHEN 1 THEN actual = 0
            WHEN 2 THEN actual > 0
            ELSE actual = p_expected
        END;

        IF p_check_ids OR NOT v_ok THEN
            SELECT e.stream_id, e.version INTO v_stream, v_version
              FROM {{schema}}.events e WHERE e.event_id = p_ids[1];
            IF FOUND THEN
                -- A retry must find the same IDs, in order, right after the
                -- expected version.
                conflict_id := p_ids[1];
                IF v_stream <> p_stream THEN
                    status := 3;
                    reason := format('already stored as version %s of stream %L', v_version, v_stream);
                    RETURN;
                END IF;
                IF (p_kind = 1 AND v_version <> 1) OR (p_kind = 3 AND v_version <> p_expected + 1) THEN
                    status := 3;
                    reason := format('stored as version %s, not right after the expected version', v_version);
                    RETURN;
                END IF;
                SELECT array_agg(e.event_id ORDER BY e.version),
                       array_agg(e.transaction_id ORDER BY e.version),
                       array_agg(e.position ORDER BY e.version)
                  INTO v_ids, tids, positions
                  FROM {{schema}}.events e
                 WHERE e.stream_id = p_stream AND e.version BETWEEN v_version AND v_version + n - 1;
                IF coalesce(cardinality(v_ids), 0) < n THEN
                    status := 3;
                    reason := 'the retry carries more events than were stored';
                    tids := NULL; positions := NULL;
                    RETURN;
                END IF;
                FOR i IN 1 .. n LOOP
                    IF v_ids[i] <> p_ids[i] THEN
                        status := 3;
                        reason := format('version %s holds another event', v_version + i - 1);
                        tids := NULL; positions := NULL;
                        RETURN;
                    END IF;
                END LOOP;
                conflict_id := NULL;
                status := 1;
                version := v_version + n - 1;
                RETURN;
            END IF;
            IF n > 1 THEN
                SELECT e.event_id, e.stream_id, e.version INTO conflict_id, v_stream, v_version
                  FROM {{schema}}.events e WHERE e.event_id = ANY (p_ids[2:n]) LIMIT 1;
                IF FOUND THEN
                    status := 3;
                    reason := format('already stored as version %s of stream %L', v_version, v_stream);
                    RETURN;
                END IF;
            END IF;
            IF NOT v_ok THEN
                status := 2;
                RETURN;
            END IF;
        END IF;

        -- Taking the transaction id only now, after the lock and the checks,
        -- is what keeps the order guard quiet for Append (and a refused
        -- append cheap: without a transaction id it commits nothing).
        v_tid := pg_current_xact_id()::text::bigint + v_offset;
        IF v_exists THEN
            IF v_last > v_tid THEN
                status := 4;
                reason := format('the stream''s last append has transaction id %s, above this transaction''s %s', v_last, v_tid);
                RETURN;
            END IF;
            IF n = 1 THEN
                -- The common single-event append: two plain statements.
                UPDATE {{schema}}.streams s SET version = actual + 1, transaction_id = v_tid WHERE s.stream_id = p_stream;
                INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
                VALUES (v_tid, p_stream, actual + 1, p_ids[1], p_types[1], p_data[1], p_metadata[1])
                RETURNING events.position INTO v_position;
                positions := ARRAY[v_position];
                EXIT;
            END IF;
            -- One statement updates the stream row and inserts the events.
            WITH upd AS (
                UPDATE {{schema}}.streams s SET version = actual + n, transaction_id = v_tid WHERE s.stream_id = p_stream
            ), ins AS (
                INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
                SELECT v_tid, p_stream, actual + u.ord, u.id, u.typ, u.dat, u.md
                  FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, typ, dat, md, ord)
                RETURNING events.position, events.version
            )
            SELECT array_agg(ins.position ORDER BY ins.version) INTO positions FROM ins;
            EXIT;
        END IF;
        INSERT INTO {{schema}}.streams (stream_id, version, transaction_id) VALUES (p_stream, n, v_tid)
            ON CONFLICT (stream_id) DO NOTHING;
        IF FOUND THEN
            WITH ins AS (
                INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
                SELECT v_tid, p_stream, u.ord, u.id, u.typ, u.dat, u.md
                  FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, typ, dat, md, ord)
                RETURNING events.position, events.version
            )
            SELECT array_agg(ins.position ORDER BY ins.version) INTO positions FROM ins;
            EXIT;
        END IF;
        -- Another transaction created the stream meanwhile (only possible
        -- for callers that bypass the advisory lock): start over.
    END LOOP;

    tids := array_fill(v_tid, ARRAY[n]);
    version := actual + n;
    status := 0;
END
$fn$;
