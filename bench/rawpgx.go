package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// The "raw pgx" variant is what a team writes by hand on PostgreSQL without
// a framework, the shape issue 21's targets are stated against (the same as
// eventstore/postgres's BenchmarkPaired "rawpgx" side). Its own table, not
// shaped like chronicle's:
//
//	rawpgx_events(position bigint generated always as identity primary key,
//	              stream_id text, stream_version bigint, type text,
//	              data jsonb, metadata jsonb, created_at timestamptz,
//	              unique (stream_id, stream_version))
//
// One transaction per append (BEGIN, one INSERT, COMMIT); a lost race is the
// unique violation, after which the writer reads the stream's version.
// Reads scan data and metadata as bytes and the other columns into Go
// values; the global log is read in pages of 1,000 by position (no horizon:
// it does not promise a gap-free order). A bulk load is one COPY.
type rawpgxSQL struct {
	table, insert, insertMany, version, readStream, readAll string
}

const rawpgxPage = 1000

func newRawpgxSQL(schema string) rawpgxSQL {
	t := pgmigrate.Table(schema, "rawpgx_events")
	cols := `position, stream_id, stream_version, type, data, metadata, created_at`
	return rawpgxSQL{
		table: `CREATE TABLE ` + t + ` (
			position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			stream_id      text,
			stream_version bigint,
			type           text,
			data           jsonb,
			metadata       jsonb,
			created_at     timestamptz,
			UNIQUE (stream_id, stream_version))`,
		insert: `INSERT INTO ` + t + ` (stream_id, stream_version, type, data, metadata, created_at)
			VALUES ($1, $2, $3, $4, $5, now())`,
		insertMany: `INSERT INTO ` + t + ` (stream_id, stream_version, type, data, metadata, created_at)
			SELECT $1, $2::bigint + u.ord, u.typ, u.dat, u.md, now()
			FROM unnest($3::text[], $4::jsonb[], $5::jsonb[]) WITH ORDINALITY AS u(typ, dat, md, ord)`,
		version:    `SELECT coalesce(max(stream_version), 0) FROM ` + t + ` WHERE stream_id = $1`,
		readStream: `SELECT ` + cols + ` FROM ` + t + ` WHERE stream_id = $1 ORDER BY stream_version`,
		readAll:    `SELECT ` + cols + ` FROM ` + t + ` WHERE position > $1 ORDER BY position LIMIT $2`,
	}
}

func rawpgxMetadata(m eventstore.Metadata) ([]byte, error) {
	if m.IsZero() {
		return nil, nil
	}
	return json.Marshal(m)
}

// rawpgxAppender appends events at expected+1… in one transaction; a unique
// violation (another writer took the version) is a mismatch, and the
// stream's version is read after it.
func (e *env) rawpgxAppender() appender {
	return func(ctx context.Context, stream string, expected uint64, events []eventstore.Event) (uint64, bool, error) {
		err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			if len(events) == 1 {
				md, err := rawpgxMetadata(events[0].Metadata)
				if err != nil {
					return err
				}
				_, err = tx.Exec(ctx, e.raw.insert, stream, int64(expected)+1, events[0].Type, events[0].Data, md)
				return err
			}
			types, data, mds := make([]string, len(events)), make([][]byte, len(events)), make([][]byte, len(events))
			for i, ev := range events {
				md, err := rawpgxMetadata(ev.Metadata)
				if err != nil {
					return err
				}
				types[i], data[i], mds[i] = ev.Type, ev.Data, md
			}
			_, err := tx.Exec(ctx, e.raw.insertMany, stream, int64(expected), types, data, mds)
			return err
		})
		if err == nil {
			return expected + uint64(len(events)), true, nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != pgerr.UniqueViolation {
			return 0, false, fmt.Errorf("raw pgx append to %s: %w", stream, err)
		}
		var v int64
		if err := e.pool.QueryRow(ctx, e.raw.version, stream).Scan(&v); err != nil {
			return 0, false, err
		}
		return uint64(v), false, nil
	}
}

// rawpgxRow is one row as the raw variant scans it.
type rawpgxRow struct {
	position, version int64
	stream, typ       string
	data, metadata    []byte
	createdAt         time.Time
}

// rawpgxScan scans rows, calling each for every row (the row is overwritten
// by the next).
func rawpgxScan(rows pgx.Rows, each func(*rawpgxRow) error) (int, error) {
	defer rows.Close()
	n := 0
	var r rawpgxRow
	for rows.Next() {
		r.data, r.metadata = nil, nil
		if err := rows.Scan(&r.position, &r.stream, &r.version, &r.typ, &r.data, &r.metadata, &r.createdAt); err != nil {
			return n, err
		}
		if err := each(&r); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// rawpgxReader reads a stream; positions are the row's position (twice:
// the raw shape has no transaction id).
func (e *env) rawpgxReader() streamReader {
	return func(ctx context.Context, stream string) iter.Seq2[eventstore.RecordedEvent, error] {
		return func(yield func(eventstore.RecordedEvent, error) bool) {
			rows, err := e.pool.Query(ctx, e.raw.readStream, stream)
			if err != nil {
				yield(eventstore.RecordedEvent{}, err)
				return
			}
			stop := errors.New("stop")
			_, err = rawpgxScan(rows, func(r *rawpgxRow) error {
				ev := eventstore.RecordedEvent{StreamID: r.stream, Version: uint64(r.version),
					Position: eventstore.Position{Commit: uint64(r.position), Prepare: uint64(r.position)}}
				ev.ID = eventstore.NewEventID() // the raw shape keeps no event ID
				if !yield(ev, nil) {
					return stop
				}
				return nil
			})
			if err != nil && !errors.Is(err, stop) {
				yield(eventstore.RecordedEvent{}, err)
			}
		}
	}
}

// rawpgxLoad folds a ledger's stream: one query, each payload decoded with
// encoding/json.
func (e *env) rawpgxLoad(ctx context.Context, stream string) (*ledger, uint64, error) {
	l := &ledger{}
	rows, err := e.pool.Query(ctx, e.raw.readStream, stream)
	if err != nil {
		return nil, 0, err
	}
	var version uint64
	_, err = rawpgxScan(rows, func(r *rawpgxRow) error {
		var v lineAdded
		if err := json.Unmarshal(r.data, &v); err != nil {
			return err
		}
		l.Apply(v)
		version = uint64(r.version)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return l, version, nil
}

// rawpgxReadAll reads the first n events of the log in pages by position,
// checking that positions ascend.
func (e *env) rawpgxReadAll(ctx context.Context, n int) (int, error) {
	var after int64
	count := 0
	for count < n {
		rows, err := e.pool.Query(ctx, e.raw.readAll, after, min(rawpgxPage, n-count))
		if err != nil {
			return count, err
		}
		got, err := rawpgxScan(rows, func(r *rawpgxRow) error {
			if r.position <= after {
				return fmt.Errorf("position %d after %d: the log is out of order", r.position, after)
			}
			after = r.position
			return nil
		})
		count += got
		if err != nil {
			return count, err
		}
		if got < rawpgxPage {
			break
		}
	}
	return count, nil
}

// rawpgxCopy loads events with one COPY.
func (e *env) rawpgxCopy(ctx context.Context, events []eventstore.RecordedEvent) error {
	now := time.Now()
	n, err := e.pool.CopyFrom(ctx, pgx.Identifier{e.schema, "rawpgx_events"},
		[]string{"stream_id", "stream_version", "type", "data", "metadata", "created_at"},
		pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
			ev := &events[i]
			md, err := rawpgxMetadata(ev.Metadata)
			if err != nil {
				return nil, err
			}
			at := ev.RecordedAt
			if at.IsZero() {
				at = now
			}
			return []any{ev.StreamID, int64(ev.Version), ev.Type, ev.Data, md, at}, nil
		}))
	if err == nil && n != int64(len(events)) {
		err = fmt.Errorf("copied %d of %d rows", n, len(events))
	}
	return err
}
