package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pgerr"
)

// The "rawpgx" side of BenchmarkPaired is the raw-pgx shape that issue 21's
// targets are stated against: what a team writes by hand on PostgreSQL
// without a framework. Its own table, not shaped like chronicle's:
//
//	rawpgx_events(position bigint generated always as identity primary key,
//	              stream_id text, stream_version bigint, type text,
//	              data jsonb, metadata jsonb, created_at timestamptz,
//	              unique (stream_id, stream_version))
//
// One transaction per append (BEGIN, the INSERT, COMMIT); a lost race is
// the unique violation, after which the writer reads the stream's version;
// reads scan data and metadata as bytes and the other columns into Go
// values; the global log is read in pages of 1,000 by position (no horizon:
// it does not promise a gap-free order); a bulk load is one COPY.
const rawpgxTable = `CREATE TABLE rawpgx_events (
	position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	stream_id      text,
	stream_version bigint,
	type           text,
	data           jsonb,
	metadata       jsonb,
	created_at     timestamptz,
	UNIQUE (stream_id, stream_version))`

// rawpgxPage is the raw side's page of the global log.
const rawpgxPage = 1000

const (
	rawpgxInsert = `INSERT INTO rawpgx_events (stream_id, stream_version, type, data, metadata, created_at)
		VALUES ($1, $2, $3, $4, $5, now())`
	rawpgxInsertMany = `INSERT INTO rawpgx_events (stream_id, stream_version, type, data, metadata, created_at)
		SELECT $1, $2::bigint + u.ord, u.typ, u.dat, u.md, now()
		FROM unnest($3::text[], $4::jsonb[], $5::jsonb[]) WITH ORDINALITY AS u(typ, dat, md, ord)`
	rawpgxVersion    = `SELECT coalesce(max(stream_version), 0) FROM rawpgx_events WHERE stream_id = $1`
	rawpgxReadStream = `SELECT position, stream_id, stream_version, type, data, metadata, created_at
		FROM rawpgx_events WHERE stream_id = $1 ORDER BY stream_version`
	rawpgxReadAll = `SELECT position, stream_id, stream_version, type, data, metadata, created_at
		FROM rawpgx_events WHERE position > $1 ORDER BY position LIMIT $2`
)

// createRawpgx creates the raw side's table in the benchmark's schema.
func createRawpgx(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	if _, err := pool.Exec(context.Background(), rawpgxTable); err != nil {
		b.Fatal(err)
	}
}

// copyToRawpgx copies the store's log, in its order, into rawpgx_events,
// so both sides read the same rows.
func copyToRawpgx(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO rawpgx_events (stream_id, stream_version, type, data, metadata, created_at)
		SELECT stream_id, version, type, data, metadata, recorded_at FROM events ORDER BY transaction_id, position`); err != nil {
		b.Fatal(err)
	}
	for _, table := range []string{"events", "rawpgx_events"} {
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE `+table); err != nil {
			b.Fatal(err)
		}
	}
}

func rawpgxMetadata(m eventstore.Metadata) []byte {
	if m.IsZero() {
		return nil
	}
	md, _ := json.Marshal(m)
	return md
}

// rawpgxAppend appends evs at versions version+1… in one transaction. A
// lost race is the unique violation, returned as is.
func rawpgxAppend(ctx context.Context, pool *pgxpool.Pool, stream string, version int64, evs ...eventstore.Event) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if len(evs) == 1 {
			e := evs[0]
			_, err := tx.Exec(ctx, rawpgxInsert, stream, version+1, e.Type, e.Data, rawpgxMetadata(e.Metadata))
			return err
		}
		types, data, mds := make([]string, len(evs)), make([][]byte, len(evs)), make([][]byte, len(evs))
		for i, e := range evs {
			types[i], data[i], mds[i] = e.Type, e.Data, rawpgxMetadata(e.Metadata)
		}
		_, err := tx.Exec(ctx, rawpgxInsertMany, stream, version, types, data, mds)
		return err
	})
}

// rawpgxRace is one racing writer's append: ok=false and the stream's
// version after a lost race (a unique violation).
func rawpgxRace(ctx context.Context, pool *pgxpool.Pool, stream string, seen int64, e eventstore.Event) (int64, bool, error) {
	err := rawpgxAppend(ctx, pool, stream, seen, e)
	if err == nil {
		return seen + 1, true, nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != pgerr.UniqueViolation {
		return 0, false, err
	}
	var v int64
	if err := pool.QueryRow(ctx, rawpgxVersion, stream).Scan(&v); err != nil {
		return 0, false, err
	}
	return v, false, nil
}

// rawpgxRow is one row as the raw side scans it.
type rawpgxRow struct {
	position, version int64
	stream, typ       string
	data, metadata    []byte
	createdAt         time.Time
}

// rawpgxScan scans rows, calling each (if not nil) for every row; the row
// is overwritten by the next.
func rawpgxScan(rows pgx.Rows, each func(*rawpgxRow) error) (int, rawpgxRow, error) {
	defer rows.Close()
	n := 0
	var r rawpgxRow
	for rows.Next() {
		r.data, r.metadata = nil, nil
		if err := rows.Scan(&r.position, &r.stream, &r.version, &r.typ, &r.data, &r.metadata, &r.createdAt); err != nil {
			return n, r, err
		}
		if each != nil {
			if err := each(&r); err != nil {
				return n, r, err
			}
		}
		n++
	}
	return n, r, rows.Err()
}

func rawpgxReadStreamOf(ctx context.Context, pool *pgxpool.Pool, stream string, each func(*rawpgxRow) error) (int, error) {
	rows, err := pool.Query(ctx, rawpgxReadStream, stream)
	if err != nil {
		return 0, err
	}
	n, _, err := rawpgxScan(rows, each)
	return n, err
}

func rawpgxReadAllPaged(ctx context.Context, pool *pgxpool.Pool, want int) error {
	var after int64
	total := 0
	for {
		rows, err := pool.Query(ctx, rawpgxReadAll, after, rawpgxPage)
		if err != nil {
			return err
		}
		n, last, err := rawpgxScan(rows, nil)
		if err != nil {
			return err
		}
		total += n
		if n < rawpgxPage {
			break
		}
		after = last.position
	}
	if total != want {
		return fmt.Errorf("read %d events, want %d", total, want)
	}
	return nil
}

// rawpgxCopy loads events with one COPY (one transaction).
func rawpgxCopy(ctx context.Context, pool *pgxpool.Pool, events []eventstore.RecordedEvent) error {
	now := time.Now()
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"rawpgx_events"},
		[]string{"stream_id", "stream_version", "type", "data", "metadata", "created_at"},
		pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
			e := &events[i]
			at := e.RecordedAt
			if at.IsZero() {
				at = now
			}
			return []any{e.StreamID, int64(e.Version), e.Type, e.Data, rawpgxMetadata(e.Metadata), at}, nil
		}))
	if err == nil && n != int64(len(events)) {
		err = fmt.Errorf("copied %d of %d rows", n, len(events))
	}
	return err
}
