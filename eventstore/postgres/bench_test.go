package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Every benchmark comes in pairs: "store" runs chronicle, "raw" runs the
// same SQL work with plain pgx on a table shaped like events (same columns,
// same indexes: CREATE TABLE raw_events (LIKE events INCLUDING ALL)), in the
// same run. The server's settings are whatever the test server has (see
// docs/benchmarks-postgres.md); nothing here changes synchronous_commit.

func benchStore(b *testing.B) (*espg.Store, *pgxpool.Pool) {
	b.Helper()
	pool, schema := pgtest.Pool(b, pgtest.MaxConns(16))
	s, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE raw_events (LIKE events INCLUDING ALL)`); err != nil {
		b.Fatal(err)
	}
	// Open the pool's connections now, so that no benchmark pays for them.
	conns := make([]*pgxpool.Conn, 0, 12)
	for range cap(conns) {
		c, err := pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}
	return s, pool
}

var benchMetadata = eventstore.Metadata{CorrelationID: "order-42", CausationID: "cmd-7"}

func benchEvent() eventstore.Event {
	return eventstore.Event{ID: eventstore.NewEventID(), Type: "OrderPlaced",
		Data: []byte(`{"order":"order-42","lines":3,"total":129.5}`), Metadata: benchMetadata}
}

const rawInsert = `INSERT INTO raw_events (transaction_id, stream_id, version, event_id, type, data, metadata)
	VALUES (pg_current_xact_id()::text::bigint, $1, $2, $3, $4, $5, $6)`

// rawInsertMany is the multi-row insert a peer would write by hand: one
// INSERT ... SELECT over arrays.
const rawInsertMany = `INSERT INTO raw_events (transaction_id, stream_id, version, event_id, type, data, metadata)
	SELECT pg_current_xact_id()::text::bigint, $1, $2 + u.ord, u.id, u.typ, u.dat, u.md
	FROM unnest($3::uuid[], $4::text[], $5::json[], $6::json[]) WITH ORDINALITY AS u(id, typ, dat, md, ord)`

// rawColumns is evs as the column arrays the multi-row baselines insert.
func rawColumns(evs []eventstore.Event) (ids [][16]byte, types []string, data, mds [][]byte) {
	ids, types, data, mds = make([][16]byte, len(evs)), make([]string, len(evs)), make([][]byte, len(evs)), make([][]byte, len(evs))
	for i, e := range evs {
		ids[i], types[i], data[i] = e.ID, e.Type, e.Data
		mds[i], _ = json.Marshal(e.Metadata)
	}
	return ids, types, data, mds
}

func rawAppend(ctx context.Context, pool *pgxpool.Pool, stream string, version int64, e eventstore.Event) error {
	md, _ := json.Marshal(e.Metadata)
	_, err := pool.Exec(ctx, rawInsert, stream, version, [16]byte(e.ID), e.Type, e.Data, md)
	return err
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	b.Run("1writer/store", func(b *testing.B) {
		s, _ := benchStore(b)
		for b.Loop() {
			if _, err := s.Append(ctx, "bench", eventstore.Any, benchEvent()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("1writer/raw", func(b *testing.B) {
		_, pool := benchStore(b)
		var v int64
		for b.Loop() {
			v++
			if err := rawAppend(ctx, pool, "bench", v, benchEvent()); err != nil {
				b.Fatal(err)
			}
		}
	})
	// 8 writers, each on its own stream.
	parallel := func(b *testing.B, do func(stream string, version int64) error) {
		b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // 8 goroutines
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			stream := fmt.Sprintf("writer-%d", n.Add(1))
			var v int64
			for pb.Next() {
				v++
				if err := do(stream, v); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("8writers/store", func(b *testing.B) {
		s, _ := benchStore(b)
		parallel(b, func(stream string, _ int64) error {
			_, err := s.Append(ctx, stream, eventstore.Any, benchEvent())
			return err
		})
	})
	b.Run("8writers/raw", func(b *testing.B) {
		_, pool := benchStore(b)
		parallel(b, func(stream string, v int64) error { return rawAppend(ctx, pool, stream, v, benchEvent()) })
	})
	// The design chronicle rejects: NOTIFY inside the append's transaction.
	b.Run("8writers/notify-in-tx", func(b *testing.B) {
		s, pool := benchStore(b)
		parallel(b, func(stream string, _ int64) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := s.AppendTx(ctx, tx, stream, eventstore.Any, benchEvent()); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `SELECT pg_notify('chronicle_bench', '')`)
				return err
			})
		})
	})
	b.Run("8writers/appendtx-notify-after", func(b *testing.B) {
		s, pool := benchStore(b)
		parallel(b, func(stream string, _ int64) error {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := s.AppendTx(ctx, tx, stream, eventstore.Any, benchEvent())
				return err
			})
			if err == nil {
				s.NotifyAppended()
			}
			return err
		})
	})

	ten := func() []eventstore.Event {
		evs := make([]eventstore.Event, 10)
		for i := range evs {
			evs[i] = benchEvent()
		}
		return evs
	}
	b.Run("10events/store", func(b *testing.B) {
		s, _ := benchStore(b)
		for b.Loop() {
			if _, err := s.Append(ctx, "bench", eventstore.Any, ten()...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("10events/raw-multirow", func(b *testing.B) {
		_, pool := benchStore(b)
		var v int64
		for b.Loop() {
			if err := rawAppendMany(ctx, pool, "bench", v, ten()); err != nil {
				b.Fatal(err)
			}
			v += 10
		}
	})
	b.Run("10events/raw-rowbyrow", func(b *testing.B) {
		_, pool := benchStore(b)
		var v int64
		for b.Loop() {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				for _, e := range ten() {
					v++
					md, _ := json.Marshal(e.Metadata)
					if _, err := tx.Exec(ctx, rawInsert, "bench", v, [16]byte(e.ID), e.Type, e.Data, md); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// fill appends n events in appends of 500 to stream and, with a pool,
// copies them to raw_events, so store and raw reads see the same rows.
func fill(b *testing.B, s *espg.Store, pool *pgxpool.Pool, stream string, n int) {
	b.Helper()
	ctx := context.Background()
	for i := 0; i < n; i += 500 {
		evs := make([]eventstore.Event, min(500, n-i))
		for j := range evs {
			evs[j] = benchEvent()
		}
		if _, err := s.Append(ctx, stream, eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
	if pool == nil {
		return
	}
	if _, err := pool.Exec(ctx, `INSERT INTO raw_events OVERRIDING SYSTEM VALUE SELECT * FROM events`); err != nil {
		b.Fatal(err)
	}
	for _, table := range []string{"events", "raw_events"} {
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE `+table); err != nil {
			b.Fatal(err)
		}
	}
}

type rawRow struct {
	tid, position, version int64
	stream, typ            string
	id                     uuid.UUID
	data, metadata         []byte
	recordedAt             time.Time
}

func scanRaw(rows pgx.Rows) (int, rawRow, error) {
	n := 0
	var r rawRow
	for rows.Next() {
		if err := rows.Scan(&r.tid, &r.position, &r.stream, &r.version, (*[16]byte)(&r.id), &r.typ, &r.data, &r.metadata, &r.recordedAt); err != nil {
			return n, r, err
		}
		n++
	}
	return n, r, rows.Err()
}

func BenchmarkRead(b *testing.B) {
	ctx := context.Background()
	const events = 10_000
	s, pool := benchStore(b)
	fill(b, s, pool, "big", events)

	b.Run("stream10k/store", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for _, err := range s.ReadStream(ctx, "big", eventstore.ReadStreamOptions{}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != events {
				b.Fatalf("read %d events", n)
			}
		}
	})
	b.Run("stream10k/raw", func(b *testing.B) {
		for b.Loop() {
			if err := rawReadStream(ctx, pool, "big", events); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("all10k/store", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for _, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != events {
				b.Fatalf("read %d events", n)
			}
		}
	})
	b.Run("all10k/raw-paged", func(b *testing.B) {
		for b.Loop() {
			if err := rawReadAllPaged(ctx, pool, events); err != nil {
				b.Fatal(err)
			}
		}
	})
}
