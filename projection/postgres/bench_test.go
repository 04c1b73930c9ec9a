package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// OrderPlaced is the benchmarks' event: one event, three read-model rows.
type OrderPlaced struct {
	OrderID  string `json:"order_id"`
	Customer string `json:"customer"`
	Day      string `json:"day"`
	Amount   int64  `json:"amount"`
}

const benchBatch = 5000 // the runner's default RebuildBatchSize, and the baseline's

// The read model: orders, totals per customer, revenue per day.
const (
	upsertOrder = `INSERT INTO bench_orders AS o (order_id, customer, day, amount) VALUES ($1, $2, $3, $4)
		ON CONFLICT (order_id) DO UPDATE SET customer = $2, day = $3, amount = $4`
	upsertCustomer = `INSERT INTO bench_customers AS c (customer, orders, total) VALUES ($1, 1, $2)
		ON CONFLICT (customer) DO UPDATE SET orders = c.orders + 1, total = c.total + $2`
	upsertDay = `INSERT INTO bench_daily AS d (day, orders, revenue) VALUES ($1, 1, $2)
		ON CONFLICT (day) DO UPDATE SET orders = d.orders + 1, revenue = d.revenue + $2`
)

var benchTables = []string{"bench_orders", "bench_customers", "bench_daily"}

func benchEvents(b *testing.B) int {
	n := 1_000_000
	if s := os.Getenv("CHRONICLE_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("CHRONICLE_BENCH_EVENTS=%q: want a positive count", s)
		}
		n = v
	}
	return n
}

// seed appends n OrderPlaced events in appends of 1,000 from 4 writers.
func seed(b *testing.B, es eventstore.Store, reg *eventstore.Registry, n int) {
	ctx := context.Background()
	chunks := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for k := range chunks {
				evs := make([]eventstore.Event, 0, 1000)
				for i := k * 1000; i < min(n, (k+1)*1000); i++ {
					e, err := reg.Encode(OrderPlaced{OrderID: "o-" + strconv.Itoa(i), Customer: "c-" + strconv.Itoa(i%10_000),
						Day: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%365).Format(time.DateOnly), Amount: int64(i % 997)}, eventstore.Metadata{})
					if err != nil {
						b.Error(err)
						return
					}
					evs = append(evs, e)
				}
				if _, err := es.Append(ctx, "orders-"+strconv.Itoa(k), eventstore.NoStream, evs...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for k := 0; k*1000 < n; k++ {
		chunks <- k
	}
	close(chunks)
	wg.Wait()
}

func benchSetup(b *testing.B) (*pgxpool.Pool, string, *espg.Store, *eventstore.Registry, int) {
	pool, schema := pgtest.Pool(b, pgtest.MaxConns(8))
	ctx := context.Background()
	es, err := espg.New(pool, espg.Config{Schema: schema, PageSize: benchBatch})
	if err != nil {
		b.Fatal(err)
	}
	if err := es.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { es.Close() })
	if _, err := pool.Exec(ctx, `
		CREATE TABLE bench_orders (order_id text PRIMARY KEY, customer text NOT NULL, day date NOT NULL, amount bigint NOT NULL);
		CREATE TABLE bench_customers (customer text PRIMARY KEY, orders bigint NOT NULL, total bigint NOT NULL);
		CREATE TABLE bench_daily (day date PRIMARY KEY, orders bigint NOT NULL, revenue bigint NOT NULL);
		CREATE TABLE bench_checkpoint (name text PRIMARY KEY, commit_pos bigint NOT NULL, prepare_pos bigint NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	reg := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](reg, "OrderPlaced")
	n := benchEvents(b)
	start := time.Now()
	seed(b, es, reg, n)
	b.Logf("seeded %d events in %v", n, time.Since(start).Round(time.Millisecond))
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE events`); err != nil {
		b.Fatal(err)
	}
	return pool, schema, es, reg, n
}

func benchProjection(reg *eventstore.Registry) *projection.Projection[*projpg.Tx] {
	p := projection.New[*projpg.Tx]("bench", reg)
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e OrderPlaced, _ eventstore.RecordedEvent) error {
		tx.Queue(upsertOrder, e.OrderID, e.Customer, e.Day, e.Amount)
		tx.Queue(upsertCustomer, e.Customer, e.Amount)
		tx.Queue(upsertDay, e.Day, e.Amount)
		return nil
	})
	p.OnReset(projpg.Truncate(benchTables...))
	return p
}

func checksums(b *testing.B, pool *pgxpool.Pool) []string {
	var out []string
	for _, t := range benchTables {
		s, err := projpg.Checksum(context.Background(), pool, t)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// rawRebuild is the baseline: plain pgx, no framework. It truncates the same
// tables, reads the same events from the events table in keyset pages of
// benchBatch, decodes them with encoding/json, and upserts the same rows, one
// transaction per page holding one pipeline of the upserts and the
// checkpoint update.
func rawRebuild(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	if _, err := pool.Exec(ctx, `TRUNCATE bench_orders, bench_customers, bench_daily;
		INSERT INTO bench_checkpoint VALUES ('raw', 0, 0) ON CONFLICT (name) DO UPDATE SET commit_pos = 0, prepare_pos = 0`); err != nil {
		return 0, err
	}
	var xid, pos int64
	total := 0
	for {
		rows, err := pool.Query(ctx, `SELECT transaction_id, position, data FROM events
			WHERE type = 'OrderPlaced' AND (transaction_id, position) > ($1, $2)
			ORDER BY transaction_id, position LIMIT $3`, xid, pos, benchBatch)
		if err != nil {
			return total, err
		}
		var batch pgx.Batch
		n := 0
		var data []byte
		_, err = pgx.ForEachRow(rows, []any{&xid, &pos, &data}, func() error {
			var e OrderPlaced
			if err := json.Unmarshal(data, &e); err != nil {
				return err
			}
			batch.Queue(upsertOrder, e.OrderID, e.Customer, e.Day, e.Amount)
			batch.Queue(upsertCustomer, e.Customer, e.Amount)
			batch.Queue(upsertDay, e.Day, e.Amount)
			n++
			return nil
		})
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		batch.Queue(`UPDATE bench_checkpoint SET commit_pos = $1, prepare_pos = $2 WHERE name = 'raw'`, xid, pos)
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, &batch).Close() })
		if err != nil {
			return total, err
		}
		total += n
	}
}

// BenchmarkRebuild rebuilds a three-table read model from
// CHRONICLE_BENCH_EVENTS events (default 1,000,000) on the PostgreSQL event
// store: chronicle's Runner.Rebuild next to the raw-pgx baseline, in
// interleaved rounds (CHRONICLE_BENCH_ROUNDS, default 3). Both must produce
// identical tables.
//
//	CHRONICLE_BENCH_EVENTS=1000000 go test -run '^$' -bench BenchmarkRebuild -benchtime 1x -timeout 30m ./projection/postgres/
func BenchmarkRebuild(b *testing.B) {
	pool, schema, es, reg, n := benchSetup(b)
	ctx := context.Background()
	cps, err := projpg.New(pool, projpg.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	if err := cps.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	r, err := projection.NewRunner(es, cps, projection.Config{RebuildBatchSize: benchBatch}, benchProjection(reg))
	if err != nil {
		b.Fatal(err)
	}
	rounds := 3
	if s := os.Getenv("CHRONICLE_BENCH_ROUNDS"); s != "" {
		if rounds, err = strconv.Atoi(s); err != nil || rounds < 1 {
			b.Fatalf("CHRONICLE_BENCH_ROUNDS=%q", s)
		}
	}
	var raw, chron []float64
	var rawSums, chronSums []string
	for range rounds {
		b.Run("raw-pgx", func(b *testing.B) {
			for b.Loop() {
				start := time.Now()
				got, err := rawRebuild(ctx, pool)
				if err != nil || got != n {
					b.Fatalf("raw rebuild: %d events, %v", got, err)
				}
				rate := float64(n) / time.Since(start).Seconds()
				raw = append(raw, rate)
				b.ReportMetric(rate, "events/s")
			}
			rawSums = checksums(b, pool)
		})
		b.Run("chronicle", func(b *testing.B) {
			for b.Loop() {
				start := time.Now()
				var last projection.Progress
				if err := r.Rebuild(ctx, "bench", projection.RebuildOptions{Progress: func(p projection.Progress) { last = p }}); err != nil {
					b.Fatal(err)
				}
				if last.Events != uint64(n) {
					b.Fatalf("rebuilt %d events, want %d", last.Events, n)
				}
				rate := float64(n) / time.Since(start).Seconds()
				chron = append(chron, rate)
				b.ReportMetric(rate, "events/s")
			}
			chronSums = checksums(b, pool)
		})
		if !slices.Equal(rawSums, chronSums) {
			b.Fatalf("read models differ: raw %v, chronicle %v", rawSums, chronSums)
		}
	}
	b.Logf("median events/s over %d rounds: raw-pgx %.0f, chronicle %.0f (%.0f%%)", rounds, median(raw), median(chron), 100*median(chron)/median(raw))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkLiveLatency measures the time from Append returning to the
// event's row being committed in the read model, with the runner following
// the PostgreSQL event store live. The handler queues a pg_notify, which
// PostgreSQL delivers exactly when the batch commits.
//
//	go test -run '^$' -bench BenchmarkLiveLatency -benchtime 500x ./projection/postgres/
func BenchmarkLiveLatency(b *testing.B) {
	pool, schema := pgtest.Pool(b, pgtest.MaxConns(8))
	ctx := context.Background()
	es, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	if err := es.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { es.Close() })
	cps, err := projpg.New(pool, projpg.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	if err := cps.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE latency (seq bigint PRIMARY KEY)`); err != nil {
		b.Fatal(err)
	}
	reg := eventstore.NewRegistry(nil)
	eventstore.MustRegister[OrderPlaced](reg, "OrderPlaced")
	p := projection.New[*projpg.Tx]("latency", reg)
	projection.On(p, func(ctx context.Context, tx *projpg.Tx, e OrderPlaced, _ eventstore.RecordedEvent) error {
		tx.Queue(`INSERT INTO latency VALUES ($1)`, e.Amount)
		tx.Queue(`SELECT pg_notify('bench_latency', $1)`, strconv.FormatInt(e.Amount, 10))
		return nil
	})
	r, err := projection.NewRunner(es, cps, projection.Config{}, p)
	if err != nil {
		b.Fatal(err)
	}
	listener, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		b.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, `LISTEN bench_latency`); err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	defer func() { cancel(); <-done }()

	var lat []time.Duration
	seq := int64(0)
	for b.Loop() {
		seq++
		e, err := reg.Encode(OrderPlaced{OrderID: "o", Customer: "c", Day: "2026-01-01", Amount: seq}, eventstore.Metadata{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := es.Append(ctx, "latency", eventstore.Any, e); err != nil {
			b.Fatal(err)
		}
		appended := time.Now()
		for {
			wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
			n, err := listener.WaitForNotification(wctx)
			wcancel()
			if err != nil {
				b.Fatal(err)
			}
			if n.Payload == strconv.FormatInt(seq, 10) {
				break
			}
		}
		lat = append(lat, time.Since(appended))
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	_ = fmt.Sprint()
}
