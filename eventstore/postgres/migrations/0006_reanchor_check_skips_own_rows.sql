-- chronicle event store, schema version 6: the Reanchor check of
-- append_events no longer walks over the caller's own rows.
--
-- append_events makes the check on every call: the highest stored
-- transaction id, not counting this transaction's own rows, must be below
-- the snapshot's xmax. It read that as max(transaction_id) over the rows
-- whose transaction id is not this transaction's: a filter, so the backward
-- scan of the global order index stepped over every row this transaction had
-- written, which all sit at the end of that index. Under AppendTx, the n-th
-- append of one transaction stepped over the n-1 before it: n appends cost
-- O(n^2) (1,000 single-event appends in one transaction: 384 µs each,
-- against 238 µs each at 100; TestManyAppendTxInOneTransaction counts the
-- rows fetched). Now it takes the greater of two maxima, above and below
-- this transaction's id: each is a range of the index, and the backward
-- scan of each stops at its first row. Outside a transaction that has
-- written (no id: -1), the first range is the whole index and the second is
-- empty, as before.
--
-- (check_restored.sql and diagnose.sql make the same check with the filter:
-- they run on a connection of their own, with no rows of their own to step
-- over.)
--
-- Same signature and outputs as migration 5's function: replaced in place.

CREATE OR REPLACE FUNCTION {{schema}}.append_events(
    p_stream    text,
    p_kind      smallint,
    p_expected  bigint,
    p_check_ids boolean,
    p_ids       uuid[],
    p_types     text[],
    p_data      json[],
    p_metadata  json[],
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
    v_offset   bigint;
    v_own      bigint;
    v_last     bigint;
    v_tid      bigint;
    v_ok       boolean;
    v_check    boolean := p_check_ids;
    v_stream   text;
    v_version  bigint;
    v_ids      uuid[];
    v_written  bigint[];
BEGIN
    -- Queue appends that reach this function on the same stream behind a
    -- transaction-scoped advisory lock, taken before this transaction has a
    -- transaction id (advisory locks need none): the function is the path
    -- of retries after a race, and queueing them keeps racing writers from
    -- failing each other over and over. Correctness does not rest on the
    -- lock (the single-statement append takes it shared, writers outside the
    -- store not at all): the unique indexes refuse a version or an event ID
    -- taken twice, and the insert below returns that as a lost try.
    PERFORM pg_advisory_xact_lock(hashtext('chronicle.eventstore:{{schema}}'), hashtext(p_stream));
    FOR v_try IN 1 .. 3 LOOP
        -- A new statement, so a new snapshot (under read committed): it
        -- sees what the lock's previous holder, or the winner of a lost
        -- try, committed. The epoch is read here too, after any wait for
        -- Reanchor's table locks, so such an append uses the new offset.
        SELECT ep.offset_xid, l.version, l.transaction_id
          INTO v_offset, actual, v_last
          FROM {{schema}}.epoch ep
          LEFT JOIN LATERAL (
              SELECT e.version, e.transaction_id FROM {{schema}}.events e
               WHERE e.stream_id = p_stream ORDER BY e.version DESC LIMIT 1) l ON true;
        -- (xmax is one past the latest completed transaction: this
        -- transaction's own rows, written by an earlier AppendTx, may be at or
        -- above it, and do not count.)
        -- (As max(): the end of the global order index. An EXISTS over
        -- transaction_id >= xmax was planned as a scan of the whole table.
        -- And as two ranges around this transaction's id, each one step
        -- into that index: see the top of this file.)
        v_own := coalesce(pg_current_xact_id_if_assigned()::text::bigint + v_offset, -1);
        IF coalesce(greatest(
               (SELECT max(e.transaction_id) FROM {{schema}}.events e WHERE e.transaction_id > v_own),
               (SELECT max(e.transaction_id) FROM {{schema}}.events e WHERE e.transaction_id < v_own)), -1)
           >= pg_snapshot_xmax(pg_current_snapshot())::text::bigint + v_offset THEN
            status := 5;
            reason := 'stored transaction ids are ahead of this server''s (a restored dump?): run Reanchor';
            actual := coalesce(actual, 0);
            RETURN;
        END IF;
        actual := coalesce(actual, 0);
        v_last := coalesce(v_last, 0);
        v_ok := CASE p_kind
            WHEN 0 THEN true
            WHEN 1 THEN actual = 0
            WHEN 2 THEN actual > 0
            ELSE actual = p_expected
        END;

        IF v_check OR NOT v_ok THEN
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
        -- keeps the order guard quiet for Append (and a refused append cheap:
        -- without a transaction id it commits nothing).
        v_tid := pg_current_xact_id()::text::bigint + v_offset;
        IF v_last > v_tid THEN
            status := 4;
            reason := format('the stream''s last append has transaction id %s, above this transaction''s %s', v_last, v_tid);
            RETURN;
        END IF;
        -- A row that meets a version or an event ID another transaction
        -- holds waits for it to end; if it committed, the row is skipped
        -- (under read committed), not an error.
        WITH ins AS (
            INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
            SELECT v_tid, p_stream, actual + u.ord, u.id, u.typ, u.dat, u.md
              FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, typ, dat, md, ord)
                ON CONFLICT DO NOTHING
            RETURNING events.position, events.version
        )
        SELECT array_agg(ins.position ORDER BY ins.version), array_agg(ins.version) INTO positions, v_written FROM ins;
        IF coalesce(cardinality(v_written), 0) = n THEN
            tids := array_fill(v_tid, ARRAY[n]);
            version := actual + n;
            status := 0;
            RETURN;
        END IF;
        -- Lost the race for a version or an event ID: take back what this
        -- try wrote (its own versions: no other transaction can hold them),
        -- and look again, ID check included.
        IF v_written IS NOT NULL THEN
            DELETE FROM {{schema}}.events e WHERE e.stream_id = p_stream AND e.version = ANY (v_written);
        END IF;
        positions := NULL;
        v_check := true;
    END LOOP;
    status := 6;
    reason := 'lost the race for a version or an event ID three times; nothing was written';
END
$fn$;
