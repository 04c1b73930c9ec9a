package postgres_test

import (
	"context"
	"encoding/json"
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

// BenchmarkPaired runs chronicle and its raw-pgx baseline alternately, one
// operation each in turn (8 writers: 100 ms blocks in turn), on the same
// pool, and times each side: drifting load on a shared machine (other
// tenants' CPU, fsync latency) then hits both alike, where the separate
// store/raw benchmarks run seconds apart. It reports each side's time per operation and ratio, the
// baseline's time over chronicle's: chronicle's throughput as a fraction
// of the baseline's (the targets are stated that way).
func BenchmarkPaired(b *testing.B) {
	ctx := context.Background()
	report := func(b *testing.B, store, raw time.Duration, n int) {
		b.ReportMetric(float64(store.Microseconds())/float64(n), "store-µs/op")
		b.ReportMetric(float64(raw.Microseconds())/float64(n), "raw-µs/op")
		b.ReportMetric(float64(raw)/float64(store), "ratio")
		b.ReportMetric(0, "ns/op")
	}
	// serial alternates store() and raw() b.N times each. With collect,
	// it runs the garbage collector (untimed) before each operation, so
	// that neither side pays for collecting the other's garbage: the raw
	// reads allocate five objects per row, the store's almost none, and
	// without it the store's reads were charged for the raw reads' cycles.
	serial := func(b *testing.B, collect bool, store, raw func(i int) error) {
		var ts, tr time.Duration
		n := 0
		for b.Loop() {
			first, second, t1, t2 := store, raw, &ts, &tr
			if n%2 == 1 { // alternate which goes first
				first, second, t1, t2 = raw, store, &tr, &ts
			}
			if collect {
				runtime.GC()
			}
			start := time.Now()
			if err := first(n); err != nil {
				b.Fatal(err)
			}
			*t1 += time.Since(start)
			if collect {
				runtime.GC()
			}
			start = time.Now()
			if err := second(n); err != nil {
				b.Fatal(err)
			}
			*t2 += time.Since(start)
			n++
		}
		report(b, ts, tr, n)
	}

	b.Run("append1", func(b *testing.B) {
		s, pool := benchStore(b)
		serial(b, false,
			func(int) error { _, err := s.Append(ctx, "bench", eventstore.Any, benchEvent()); return err },
			func(i int) error { return rawAppend(ctx, pool, "bench", int64(i+1), benchEvent()) })
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
		serial(b, false,
			func(int) error { _, err := s.Append(ctx, "bench", eventstore.Any, ten()...); return err },
			func(i int) error { return rawAppendMany(ctx, pool, "bench", int64(i*10), ten()) })
	})
	b.Run("append1-8writers", func(b *testing.B) {
		s, pool := benchStore(b)
		// Throughput, so the two sides cannot share the load (they would
		// share the commit queue, and each append's time would mostly be
		// the other side's): blocks of 100 ms, 8 writers each on its own
		// stream, alternating store and raw blocks (and which goes first).
		const writers = 8
		var version [writers]int64
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
		store := func(w int) error {
			_, err := s.Append(ctx, fmt.Sprintf("writer-%d", w), eventstore.Any, benchEvent())
			return err
		}
		raw := func(w int) error {
			version[w]++
			return rawAppend(ctx, pool, fmt.Sprintf("writer-%d", w), version[w], benchEvent())
		}
		var ns, nr int64
		var ts, tr time.Duration
		i := 0
		for b.Loop() {
			for k := range 2 {
				if (i+k)%2 == 0 {
					n, d, err := block(store)
					if err != nil {
						b.Fatal(err)
					}
					ns, ts = ns+n, ts+d
				} else {
					n, d, err := block(raw)
					if err != nil {
						b.Fatal(err)
					}
					nr, tr = nr+n, tr+d
				}
			}
			i++
		}
		// Per append across the 8 writers.
		perStore := time.Duration(int64(ts) / max(ns, 1))
		perRaw := time.Duration(int64(tr) / max(nr, 1))
		b.ReportMetric(float64(perStore.Nanoseconds())/1e3, "store-µs/op")
		b.ReportMetric(float64(perRaw.Nanoseconds())/1e3, "raw-µs/op")
		b.ReportMetric(float64(perRaw)/float64(perStore), "ratio")
		b.ReportMetric(0, "ns/op")
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
		b.Run("stream10k", func(b *testing.B) {
			serial(b, true,
				func(int) error { return count(s.ReadStream(ctx, "big", eventstore.ReadStreamOptions{})) },
				func(int) error { return rawReadStream(ctx, pool, "big", events) })
		})
		b.Run("all10k", func(b *testing.B) {
			serial(b, true,
				func(int) error { return count(s.ReadAll(ctx, eventstore.ReadAllOptions{})) },
				func(int) error { return rawReadAllPaged(ctx, pool, events) })
		})
	})
}

func rawAppendMany(ctx context.Context, pool *pgxpool.Pool, stream string, version int64, evs []eventstore.Event) error {
	ids, types, data, mds := make([][16]byte, len(evs)), make([]string, len(evs)), make([][]byte, len(evs)), make([][]byte, len(evs))
	for i, e := range evs {
		ids[i], types[i], data[i] = e.ID, e.Type, e.Data
		mds[i], _ = json.Marshal(e.Metadata)
	}
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
