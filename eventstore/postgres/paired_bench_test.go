package postgres_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkPaired runs chronicle and its raw-pgx baselines in turn, one
// operation each (8 writers: 100 ms blocks in turn), on the same pool, and
// times each side: drifting load on a shared machine (other tenants' CPU,
// fsync latency) then hits all sides alike, where the separate store/raw
// benchmarks run seconds apart. It reports each side's time per operation
// and the ratios baseline time over chronicle's: chronicle's throughput as
// a fraction of the baseline's (the targets are stated that way).
//
// The appends have two baselines. "raw" is the bare INSERT of known
// versions that the targets name: no read, no check. "checked" is the
// least SQL that does an append's work by hand: one INSERT per
// transaction that writes only if the stream's last version is the
// expected one (read through the primary key) and returns the positions,
// as bench/baseline.go does; still no order guard, epoch, idempotency or
// fallback path. The difference between the two is what checking a
// version costs PostgreSQL at all.
func BenchmarkPaired(b *testing.B) {
	ctx := context.Background()
	// report writes the metrics: µs per operation for each side, the
	// ratio of the first baseline's time to the store's as "ratio" and
	// the second's, if any, as "ratio-checked".
	report := func(b *testing.B, names []string, per []time.Duration) {
		for i, name := range names {
			b.ReportMetric(float64(per[i].Nanoseconds())/1e3, name+"-µs/op")
		}
		b.ReportMetric(float64(per[1])/float64(per[0]), "ratio")
		if len(per) > 2 {
			b.ReportMetric(float64(per[2])/float64(per[0]), "ratio-checked")
		}
		b.ReportMetric(0, "ns/op")
	}
	// serial runs the sides (the store first in the list) b.N times each,
	// one operation each in turn, rotating which goes first. With collect,
	// it runs the garbage collector (untimed) before each operation, so
	// that no side pays for collecting another's garbage: the raw reads
	// allocate five objects per row, the store's almost none, and without
	// it the store's reads were charged for the raw reads' cycles.
	serial := func(b *testing.B, collect bool, names []string, sides ...func(i int) error) {
		total := make([]time.Duration, len(sides))
		n := 0
		for b.Loop() {
			for k := range sides {
				j := (n + k) % len(sides)
				if collect {
					runtime.GC()
				}
				start := time.Now()
				if err := sides[j](n); err != nil {
					b.Fatalf("%s: %v", names[j], err)
				}
				total[j] += time.Since(start)
			}
			n++
		}
		per := make([]time.Duration, len(sides))
		for j := range total {
			per[j] = total[j] / time.Duration(max(n, 1))
		}
		report(b, names, per)
	}
	appendNames := []string{"store", "raw", "checked"}

	b.Run("append1", func(b *testing.B) {
		s, pool := benchStore(b)
		serial(b, false, appendNames,
			func(int) error { _, err := s.Append(ctx, "bench", eventstore.Any, benchEvent()); return err },
			func(i int) error { return rawAppend(ctx, pool, "bench", int64(i+1), benchEvent()) },
			func(i int) error { return checkedAppend(ctx, pool, "bench-checked", int64(i), benchEvent()) })
	})
	b.Run("append10", func(b *testing.B) {
		s, pool := benchStore(b)
		ten := func() []eventstore.Event {
			evs := make([]eventstore.Event, 10)
			for i := range evs {
				evs[i] = benchEvent()
			}
			return evs
		}
		serial(b, false, appendNames,
			func(int) error { _, err := s.Append(ctx, "bench", eventstore.Any, ten()...); return err },
			func(i int) error { return rawAppendMany(ctx, pool, "bench", int64(i*10), ten()) },
			func(i int) error { return checkedAppend(ctx, pool, "bench-checked", int64(i*10), ten()...) })
	})
	b.Run("append1-8writers", func(b *testing.B) {
		s, pool := benchStore(b)
		// Throughput, so the sides cannot share the load (they would
		// share the commit queue, and each append's time would mostly be
		// another side's): blocks of 100 ms, 8 writers each on its own
		// stream, the sides' blocks in turn (rotating which goes first).
		const writers = 8
		var rawVersion, checkedVersion [writers]int64
		block := func(do func(w int) error) (int64, time.Duration, error) {
			var n atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			start := time.Now()
			deadline := start.Add(100 * time.Millisecond)
			for w := range writers {
				wg.Go(func() {
					for time.Now().Before(deadline) {
						if err := do(w); err != nil {
							errs <- err
							return
						}
						n.Add(1)
					}
				})
			}
			wg.Wait()
			close(errs)
			return n.Load(), time.Since(start), <-errs
		}
		sides := []func(w int) error{
			func(w int) error {
				_, err := s.Append(ctx, fmt.Sprintf("writer-%d", w), eventstore.Any, benchEvent())
				return err
			},
			func(w int) error {
				rawVersion[w]++
				return rawAppend(ctx, pool, fmt.Sprintf("writer-%d", w), rawVersion[w], benchEvent())
			},
			func(w int) error {
				err := checkedAppend(ctx, pool, fmt.Sprintf("checked-%d", w), checkedVersion[w], benchEvent())
				checkedVersion[w]++
				return err
			},
		}
		count := make([]int64, len(sides))
		spent := make([]time.Duration, len(sides))
		i := 0
		for b.Loop() {
			for k := range sides {
				j := (i + k) % len(sides)
				n, d, err := block(sides[j])
				if err != nil {
					b.Fatalf("%s: %v", appendNames[j], err)
				}
				count[j], spent[j] = count[j]+n, spent[j]+d
			}
			i++
		}
		// Per append across the 8 writers.
		per := make([]time.Duration, len(sides))
		for j := range sides {
			per[j] = time.Duration(int64(spent[j]) / max(count[j], 1))
		}
		report(b, appendNames, per)
	})

	const events = 10_000
	b.Run("read", func(b *testing.B) {
		s, pool := benchStore(b)
		fill(b, s, pool, "big", events)
		count := func(seq func(yield func(eventstore.RecordedEvent, error) bool)) error {
			n := 0
			for _, err := range seq {
				if err != nil {
					return err
				}
				n++
			}
			if n != events {
				return fmt.Errorf("read %d events", n)
			}
			return nil
		}
		readNames := []string{"store", "raw"}
		b.Run("stream10k", func(b *testing.B) {
			serial(b, true, readNames,
				func(int) error { return count(s.ReadStream(ctx, "big", eventstore.ReadStreamOptions{})) },
				func(int) error { return rawReadStream(ctx, pool, "big", events) })
		})
		b.Run("all10k", func(b *testing.B) {
			serial(b, true, readNames,
				func(int) error { return count(s.ReadAll(ctx, eventstore.ReadAllOptions{})) },
				func(int) error { return rawReadAllPaged(ctx, pool, events) })
		})
	})
}

// checkedInsert is the "checked" baseline (see BenchmarkPaired): $1
// stream, $2 expected version, $3… the events' columns as arrays.
const checkedInsert = `INSERT INTO raw_events (transaction_id, stream_id, version, event_id, type, data, metadata)
	SELECT pg_current_xact_id()::text::bigint, $1, $2::bigint + u.ord, u.id, u.typ, u.dat, u.md
	  FROM unnest($3::uuid[], $4::text[], $5::json[], $6::json[]) WITH ORDINALITY AS u(id, typ, dat, md, ord)
	 WHERE coalesce((SELECT max(version) FROM raw_events WHERE stream_id = $1), 0) = $2::bigint
	RETURNING position`

// checkedAppend appends evs to stream at expected version by hand, and
// fails if the statement wrote nothing.
func checkedAppend(ctx context.Context, pool *pgxpool.Pool, stream string, expected int64, evs ...eventstore.Event) error {
	ids, types, data, mds := rawColumns(evs)
	rows, err := pool.Query(ctx, checkedInsert, stream, expected, ids, types, data, mds)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		var pos int64
		if err := rows.Scan(&pos); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != len(evs) {
		return fmt.Errorf("checked append to %q at %d wrote %d of %d events", stream, expected, n, len(evs))
	}
	return nil
}

func rawAppendMany(ctx context.Context, pool *pgxpool.Pool, stream string, version int64, evs []eventstore.Event) error {
	ids, types, data, mds := rawColumns(evs)
	_, err := pool.Exec(ctx, rawInsertMany, stream, version, ids, types, data, mds)
	return err
}

func rawReadStream(ctx context.Context, pool *pgxpool.Pool, stream string, want int) error {
	rows, err := pool.Query(ctx, `SELECT transaction_id, position, stream_id, version, event_id, type, data, metadata, recorded_at
		FROM raw_events WHERE stream_id = $1 ORDER BY version`, stream)
	if err != nil {
		return err
	}
	n, _, err := scanRaw(rows)
	if err == nil && n != want {
		err = fmt.Errorf("read %d events", n)
	}
	return err
}

func rawReadAllPaged(ctx context.Context, pool *pgxpool.Pool, want int) error {
	var c, p int64
	total := 0
	for {
		rows, err := pool.Query(ctx, `SELECT transaction_id, position, stream_id, version, event_id, type, data, metadata, recorded_at
			FROM raw_events WHERE (transaction_id, position) > ($1, $2) ORDER BY transaction_id, position LIMIT $3`, c, p, postgres.DefaultPageSize)
		if err != nil {
			return err
		}
		n, last, err := scanRaw(rows)
		if err != nil {
			return err
		}
		total += n
		if n < postgres.DefaultPageSize {
			break
		}
		c, p = last.tid, last.position
	}
	if total != want {
		return fmt.Errorf("read %d events", total)
	}
	return nil
}
