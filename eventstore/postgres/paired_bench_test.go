package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
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
	// report writes the metrics: µs per operation for each side, and
	// each baseline's time over the store's as "ratio-<side>" ("ratio"
	// for the bare "raw" side).
	report := func(b *testing.B, names []string, per []time.Duration) {
		for i, name := range names {
			b.ReportMetric(float64(per[i].Nanoseconds())/1e3, name+"-µs/op")
		}
		for i := 1; i < len(names); i++ {
			metric := "ratio-" + names[i]
			if names[i] == "raw" {
				metric = "ratio"
			}
			b.ReportMetric(float64(per[i])/float64(per[0]), metric)
		}
		b.ReportMetric(0, "ns/op")
	}
	// serial runs the sides (the store first in the list) b.N times each,
	// one operation each in turn, in a new random order each round: with
	// the order only rotated, each side always followed the same one (the
	// store the raw-pgx append, a BEGIN, INSERT, COMMIT), and a side's time
	// depends on what ran just before it on the server. With collect,
	// it runs the garbage collector (untimed) before each operation, so
	// that no side pays for collecting another's garbage: the raw reads
	// allocate five objects per row, the store's almost none, and without
	// it the store's reads were charged for the raw reads' cycles.
	// prepared is serial with prepare(i) run, untimed, before the sides'
	// i-th operations.
	prepared := func(b *testing.B, collect bool, names []string, prepare func(i int), sides ...func(i int) error) {
		total := make([]time.Duration, len(sides))
		n := 0
		for b.Loop() {
			if prepare != nil {
				b.StopTimer()
				prepare(n)
				b.StartTimer()
			}
			perm := rand.Perm(len(sides))
			for k := range sides {
				j := perm[k]
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
	serial := func(b *testing.B, collect bool, names []string, sides ...func(i int) error) {
		prepared(b, collect, names, nil, sides...)
	}
	appendNames := []string{"store", "raw", "checked", "rawpgx"}

	b.Run("append1", func(b *testing.B) {
		s, pool := pairedStore(b)
		serial(b, false, appendNames,
			func(int) error { _, err := s.Append(ctx, "bench", eventstore.Any, benchEvent()); return err },
			func(i int) error { return rawAppend(ctx, pool, "bench", int64(i+1), benchEvent()) },
			func(i int) error { return checkedAppend(ctx, pool, "bench-checked", int64(i), benchEvent()) },
			func(i int) error { return rawpgxAppend(ctx, pool, "bench", int64(i), benchEvent()) })
	})
	b.Run("append10", func(b *testing.B) {
		s, pool := pairedStore(b)
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
			func(i int) error { return checkedAppend(ctx, pool, "bench-checked", int64(i*10), ten()...) },
			func(i int) error { return rawpgxAppend(ctx, pool, "bench", int64(i*10), ten()...) })
	})
	// Throughput with 8 writers, so the sides cannot share the load (they
	// would share the commit queue, and each append's time would mostly be
	// another side's): blocks of 100 ms, 8 writers, the sides' blocks in
	// turn (in a random order each round). do returns whether it counts (a
	// racing writer's lost race does not).
	const writers = 8
	blocks := func(b *testing.B, names []string, sides ...func(w int) (bool, error)) {
		block := func(do func(w int) (bool, error)) (int64, time.Duration, error) {
			var n atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			start := time.Now()
			deadline := start.Add(100 * time.Millisecond)
			for w := range writers {
				wg.Go(func() {
					for time.Now().Before(deadline) {
						ok, err := do(w)
						if err != nil {
							errs <- err
							return
						}
						if ok {
							n.Add(1)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			return n.Load(), time.Since(start), <-errs
		}
		count := make([]int64, len(sides))
		spent := make([]time.Duration, len(sides))
		i := 0
		for b.Loop() {
			perm := rand.Perm(len(sides))
			for k := range sides {
				j := perm[k]
				n, d, err := block(sides[j])
				if err != nil {
					b.Fatalf("%s: %v", names[j], err)
				}
				count[j], spent[j] = count[j]+n, spent[j]+d
			}
			i++
		}
		// Per (successful) append across the 8 writers.
		per := make([]time.Duration, len(sides))
		for j := range sides {
			per[j] = time.Duration(int64(spent[j]) / max(count[j], 1))
		}
		report(b, names, per)
	}
	b.Run("append1-8writers", func(b *testing.B) {
		s, pool := pairedStore(b)
		var rawVersion, checkedVersion, rawpgxVersion [writers]int64
		blocks(b, appendNames,
			func(w int) (bool, error) {
				_, err := s.Append(ctx, fmt.Sprintf("writer-%d", w), eventstore.Any, benchEvent())
				return true, err
			},
			func(w int) (bool, error) {
				rawVersion[w]++
				return true, rawAppend(ctx, pool, fmt.Sprintf("writer-%d", w), rawVersion[w], benchEvent())
			},
			func(w int) (bool, error) {
				err := checkedAppend(ctx, pool, fmt.Sprintf("checked-%d", w), checkedVersion[w], benchEvent())
				checkedVersion[w]++
				return true, err
			},
			func(w int) (bool, error) {
				err := rawpgxAppend(ctx, pool, fmt.Sprintf("writer-%d", w), rawpgxVersion[w], benchEvent())
				rawpgxVersion[w]++
				return true, err
			})
	})
	// 8 writers racing on one stream, each appending with the version it
	// last saw; a loser learns the stream's version (the store from the
	// ConflictError, rawpgx with a query after the unique violation) and
	// tries again. The time is per successful append.
	b.Run("race8", func(b *testing.B) {
		s, pool := pairedStore(b)
		var storeSeen, rawpgxSeen [writers]int64
		blocks(b, []string{"store", "rawpgx"},
			func(w int) (bool, error) {
				res, err := s.Append(ctx, "race", eventstore.Exact(uint64(storeSeen[w])), benchEvent())
				if ce, ok := errors.AsType[*eventstore.ConflictError](err); ok && ce.EventID == uuid.Nil {
					storeSeen[w] = int64(ce.Actual)
					return false, nil
				}
				if err != nil {
					return false, err
				}
				storeSeen[w] = int64(res.Version)
				return true, nil
			},
			func(w int) (bool, error) {
				v, ok, err := rawpgxRace(ctx, pool, "race", rawpgxSeen[w], benchEvent())
				rawpgxSeen[w] = v
				return ok, err
			})
	})

	// Read sizes: 10,000 events for a stream and an aggregate, 100,000 for
	// the global log (10,000 with -short).
	const events = 10_000
	logEvents := 100_000
	if testing.Short() {
		logEvents = 10_000
	}
	count := func(want int, seq func(yield func(eventstore.RecordedEvent, error) bool)) error {
		n := 0
		for _, err := range seq {
			if err != nil {
				return err
			}
			n++
		}
		if n != want {
			return fmt.Errorf("read %d events, want %d", n, want)
		}
		return nil
	}
	b.Run("read", func(b *testing.B) {
		s, pool := pairedStore(b)
		fill(b, s, pool, "big", events)
		copyToRawpgx(b, pool)
		readNames := []string{"store", "raw", "rawpgx"}
		b.Run("stream10k", func(b *testing.B) {
			serial(b, true, readNames,
				func(int) error { return count(events, s.ReadStream(ctx, "big", eventstore.ReadStreamOptions{})) },
				func(int) error { return rawReadStream(ctx, pool, "big", events) },
				func(int) error {
					n, err := rawpgxReadStreamOf(ctx, pool, "big", nil)
					if err == nil && n != events {
						err = fmt.Errorf("read %d events", n)
					}
					return err
				})
		})
		b.Run("all10k", func(b *testing.B) {
			serial(b, true, readNames,
				func(int) error { return count(events, s.ReadAll(ctx, eventstore.ReadAllOptions{})) },
				func(int) error { return rawReadAllPaged(ctx, pool, events) },
				func(int) error { return rawpgxReadAllPaged(ctx, pool, events) })
		})
	})
	b.Run("readall", func(b *testing.B) {
		s, pool := pairedStore(b)
		for i := range logEvents / events {
			fill(b, s, nil, fmt.Sprintf("log-%d", i), events)
		}
		copyToRawpgx(b, pool)
		serial(b, true, []string{"store", "rawpgx"},
			func(int) error { return count(logEvents, s.ReadAll(ctx, eventstore.ReadAllOptions{})) },
			func(int) error { return rawpgxReadAllPaged(ctx, pool, logEvents) })
	})
	// Rehydrate a 10,000-event aggregate: Repository.Load without a
	// snapshot against the raw stream read, each payload decoded with
	// encoding/json and applied.
	b.Run("load10k", func(b *testing.B) {
		s, pool := pairedStore(b)
		registry := eventstore.NewRegistry(nil)
		eventstore.MustRegister[tallied](registry, "Tallied")
		repo, err := aggregate.NewRepository(s, registry, aggregate.Config[*tally]{Type: "tally"})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < events; i += 500 {
			evs := make([]eventstore.Event, 500)
			for j := range evs {
				if evs[j], err = registry.Encode(tallied{N: 1, Note: "order-42 line"}, benchMetadata); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.Append(ctx, repo.StreamID("t"), eventstore.Any, evs...); err != nil {
				b.Fatal(err)
			}
		}
		copyToRawpgx(b, pool)
		check := func(t *tally, version int64) error {
			if t.Total != events || version != events {
				return fmt.Errorf("loaded total %d at version %d, want %d", t.Total, version, events)
			}
			return nil
		}
		serial(b, true, []string{"store", "rawpgx"},
			func(int) error {
				t, err := repo.Load(ctx, "t")
				if err != nil {
					return err
				}
				return check(t, int64(t.Version()))
			},
			func(int) error {
				t := &tally{}
				var version int64
				_, err := rawpgxReadStreamOf(ctx, pool, repo.StreamID("t"), func(r *rawpgxRow) error {
					switch r.typ {
					case "Tallied":
						var e tallied
						if err := json.Unmarshal(r.data, &e); err != nil {
							return err
						}
						t.Apply(e)
					default:
						return fmt.Errorf("unknown event type %q", r.typ)
					}
					version = r.version
					return nil
				})
				if err != nil {
					return err
				}
				return check(t, version)
			})
	})
	// Bulk import of the same rows: Store.Import against one raw COPY,
	// 10,000 events over 10 new streams per operation (1,000 with -short),
	// the batches built untimed.
	b.Run("import", func(b *testing.B) {
		s, pool := pairedStore(b)
		size := 10_000
		if testing.Short() {
			size = 1_000
		}
		var storeBatch, rawBatch []eventstore.RecordedEvent
		build := func(prefix string, i int) []eventstore.RecordedEvent {
			batch := make([]eventstore.RecordedEvent, size)
			for k := range batch {
				e := benchEvent()
				batch[k] = eventstore.RecordedEvent{Event: e, StreamID: fmt.Sprintf("%s-%d-%d", prefix, i, k%10), Version: uint64(k/10 + 1)}
			}
			return batch
		}
		prepared(b, true, []string{"store", "rawpgx"},
			func(i int) { storeBatch, rawBatch = build("import", i), build("copy", i) },
			func(int) error {
				res, err := s.Import(ctx, storeBatch)
				if err == nil && res.Events != size {
					err = fmt.Errorf("imported %d of %d events", res.Events, size)
				}
				return err
			},
			func(int) error { return rawpgxCopy(ctx, pool, rawBatch) })
	})
	// What the event ID index (the third: the raw shape has only the
	// primary key and the stream's unique key) costs Import: the store
	// against a second store whose events table lacks it, the same
	// batches. v7: IDs as chronicle makes them (time-ordered, so the index
	// grows at its right edge); v4: random IDs, as an export from another
	// store may carry. The index stays: it is what makes an event ID
	// unique, and so appends idempotent.
	for _, kind := range []string{"v7", "v4"} {
		b.Run("import-idindex/"+kind, func(b *testing.B) {
			s, _ := pairedStore(b)
			bare, barePool := pairedStore(b)
			if _, err := barePool.Exec(ctx, `ALTER TABLE events DROP CONSTRAINT events_event_id_key`); err != nil {
				b.Fatal(err)
			}
			size := 10_000
			if testing.Short() {
				size = 1_000
			}
			var batches [2][]eventstore.RecordedEvent
			prepared(b, true, []string{"store", "noindex"},
				func(i int) {
					for j := range batches {
						batches[j] = make([]eventstore.RecordedEvent, size)
						for k := range batches[j] {
							e := benchEvent()
							if kind == "v4" {
								e.ID = uuid.New()
							}
							batches[j][k] = eventstore.RecordedEvent{Event: e, StreamID: fmt.Sprintf("import-%d-%d", i, k%10), Version: uint64(k/10 + 1)}
						}
					}
				},
				func(int) error { _, err := s.Import(ctx, batches[0]); return err },
				func(int) error { _, err := bare.Import(ctx, batches[1]); return err })
		})
	}
}

// pairedStore is benchStore with the rawpgx table beside chronicle's.
func pairedStore(b *testing.B) (*espg.Store, *pgxpool.Pool) {
	b.Helper()
	s, pool := benchStore(b)
	createRawpgx(b, pool)
	return s, pool
}

// tally is load10k's aggregate.
type tally struct {
	aggregate.Root
	Total int `json:"total"`
}

type tallied struct {
	N    int    `json:"n"`
	Note string `json:"note"`
}

func (t *tally) Apply(e any) {
	if e, ok := e.(tallied); ok {
		t.Total += e.N
	}
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
			FROM raw_events WHERE (transaction_id, position) > ($1, $2) ORDER BY transaction_id, position LIMIT $3`, c, p, espg.DefaultPageSize)
		if err != nil {
			return err
		}
		n, last, err := scanRaw(rows)
		if err != nil {
			return err
		}
		total += n
		if n < espg.DefaultPageSize {
			break
		}
		c, p = last.tid, last.position
	}
	if total != want {
		return fmt.Errorf("read %d events", total)
	}
	return nil
}
