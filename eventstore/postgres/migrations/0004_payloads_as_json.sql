-- chronicle event store, schema version 4: payloads and metadata are stored as
-- json, byte for byte, instead of jsonb.
--
-- jsonb keeps numbers as numeric and prints them in full: a payload of a few
-- thousand numbers like 1e131071, 75 kB as written, read back as about 1 GB
-- and failed every page that held it (out of memory, 54000), stalling every
-- reader of the log. json stores the text it is given (after checking that
-- it is JSON) and returns it as it is: what is read is what was written, the
-- same size, the same bytes, as on the other backends; reads no longer pay for
-- printing jsonb either (docs/postgres.md, "Payloads as json", has the choice
-- and the numbers). SQL on payloads keeps the json operators (->, ->>, #>>);
-- jsonb's (@>, ?, jsonpath, GIN indexes) need data::jsonb.
--
-- The conversion rewrites the table under an ACCESS EXCLUSIVE lock. Stored
-- jsonb values print as the store used to return them, except the numbers
-- that would print enormous (at or beyond 1e64 in magnitude, or with more
-- than 64 digits after the point: 1e131071, 1e-16000, 0e-16000), which
-- chronicle_json writes in exponent form, the same value: an old database
-- holding such an event can be migrated, and the event read.

CREATE FUNCTION {{schema}}.chronicle_json_number(n numeric) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    t text;
BEGIN
    IF abs(n) < 1e64 AND scale(n) <= 64 THEN
        RETURN n::text;
    END IF;
    IF n = 0 THEN
        RETURN '0';
    END IF;
    -- Exponent form, without printing the number in full (1e131071 would
    -- print 131,072 digits): to_char's EEEE divides by a power of ten and
    -- prints the significand to as many places as asked. A numeric keeps
    -- at most 4 decimal digits per 2 bytes it takes, so asking for 4 per
    -- byte of pg_column_size keeps every digit: the value is exact. Then
    -- the significand's trailing zeros go, and the exponent's plus sign.
    t := btrim(to_char(n, '9.' || repeat('9', 4 * pg_column_size(n) + 4) || 'EEEE'));
    RETURN rtrim(rtrim(split_part(t, 'e', 1), '0'), '.') || 'e' || ltrim(split_part(t, 'e', 2), '+');
END
$$;

CREATE FUNCTION {{schema}}.chronicle_json_compact(d jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    CASE jsonb_typeof(d)
    WHEN 'object' THEN
        RETURN '{' || coalesce((SELECT string_agg(to_json(k)::text || ': ' || {{schema}}.chronicle_json_compact(v), ', ' ORDER BY o)
                                  FROM jsonb_each(d) WITH ORDINALITY AS e(k, v, o)), '') || '}';
    WHEN 'array' THEN
        RETURN '[' || coalesce((SELECT string_agg({{schema}}.chronicle_json_compact(v), ', ' ORDER BY o)
                                  FROM jsonb_array_elements(d) WITH ORDINALITY AS a(v, o)), '') || ']';
    WHEN 'number' THEN
        RETURN {{schema}}.chronicle_json_number(d::numeric);
    ELSE
        RETURN d::text;
    END CASE;
END
$$;

CREATE FUNCTION {{schema}}.chronicle_json(d jsonb) RETURNS json
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    -- Most values have no number far from 1 (zeros aside): print them as
    -- they are. The jsonpath filter compares numbers without printing them.
    IF NOT jsonb_path_exists(d, 'strict $.** ? (@.type() == "number" && (@ >= 1e64 || @ <= -1e64 || (@ < 1e-64 && @ > -1e-64)))') THEN
        RETURN d::json;
    END IF;
    -- Zeros pass that filter; their scale (0e-16000 prints 16,002 digits)
    -- is checked here.
    IF NOT EXISTS (SELECT 1 FROM jsonb_path_query(d, 'strict $.** ? (@.type() == "number")') AS v(n)
                    WHERE abs(n::numeric) >= 1e64 OR scale(n::numeric) > 64) THEN
        RETURN d::json;
    END IF;
    RETURN {{schema}}.chronicle_json_compact(d)::json;
END
$$;

ALTER TABLE {{schema}}.events
    ALTER COLUMN data TYPE json USING {{schema}}.chronicle_json(data),
    ALTER COLUMN metadata TYPE json USING {{schema}}.chronicle_json(metadata);

DROP FUNCTION {{schema}}.chronicle_json(jsonb);
DROP FUNCTION {{schema}}.chronicle_json_compact(jsonb);
DROP FUNCTION {{schema}}.chronicle_json_number(numeric);

-- append_events takes the payloads and metadata as json[]: jsonb[] would
-- convert them on the way in.
DROP FUNCTION {{schema}}.append_events(text, smallint, bigint, boolean, uuid[], text[], jsonb[], jsonb[]);

CREATE FUNCTION {{schema}}.append_events(
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
    v_last     bigint;
    v_tid      bigint;
    v_ok       boolean;
    v_stream   text;
    v_version  bigint;
    v_ids      uuid[];
BEGIN
    -- Queue appends that reach this function on the same stream behind a
    -- transaction-scoped advisory lock, taken before this transaction has a
    -- transaction id (advisory locks need none): the function is the path
    -- of retries after a race, and queueing them keeps racing writers from
    -- failing each other over and over. Correctness does not rest on the
    -- lock (the single-statement append takes none): the primary key
    -- refuses a version taken twice.
    PERFORM pg_advisory_xact_lock(hashtext('chronicle.eventstore:{{schema}}'), hashtext(p_stream));
    -- A new statement, so a new snapshot: it sees what the lock's previous
    -- holder committed. The epoch is read here too, after any wait for
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
    -- transaction_id >= xmax was planned as a scan of the whole table.)
    IF coalesce((SELECT max(e.transaction_id) FROM {{schema}}.events e
                  WHERE e.transaction_id <> coalesce(pg_current_xact_id_if_assigned()::text::bigint + v_offset, -1)), -1)
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
    -- keeps the order guard quiet for Append (and a refused append cheap:
    -- without a transaction id it commits nothing).
    v_tid := pg_current_xact_id()::text::bigint + v_offset;
    IF v_last > v_tid THEN
        status := 4;
        reason := format('the stream''s last append has transaction id %s, above this transaction''s %s', v_last, v_tid);
        RETURN;
    END IF;
    WITH ins AS (
        INSERT INTO {{schema}}.events (transaction_id, stream_id, version, event_id, type, data, metadata)
        SELECT v_tid, p_stream, actual + u.ord, u.id, u.typ, u.dat, u.md
          FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS u(id, typ, dat, md, ord)
        RETURNING events.position, events.version
    )
    SELECT array_agg(ins.position ORDER BY ins.version) INTO positions FROM ins;
    tids := array_fill(v_tid, ARRAY[n]);
    version := actual + n;
    status := 0;
END
$fn$;
