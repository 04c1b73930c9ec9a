package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/console"
	consolepg "github.com/chronicle-go/chronicle/console/postgres"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// The benchmark's log: benchOrders orders, each with three streams
// (order-, payment-, shipment-) holding 10, 8 and 12 events: 100,002
// streams and 1,000,020 events.
const (
	benchOrders    = 33_334
	benchPerOrder  = 30
	benchCommands  = 5 // per order: the saga commands behind its events 1..5
	benchImportRun = 60_000
)

var benchStreams = []struct {
	prefix string
	types  []string
}{
	{"order-", []string{"OrderPlaced", "OrderConfirmed", "OrderShipmentUpdated", "OrderShipmentUpdated", "OrderShipmentUpdated",
		"OrderShipmentUpdated", "OrderShipmentUpdated", "OrderShipmentUpdated", "OrderNoted", "OrderCompleted"}},
	{"payment-", []string{"PaymentPending", "PaymentAuthorized", "PaymentCharged", "PaymentCaptured", "PaymentSettled",
		"PaymentReceipted", "PaymentReconciled", "PaymentClosed"}},
	{"shipment-", []string{"ShipmentCreated", "ShipmentPicked", "ShipmentPacked", "ShipmentDispatched", "ShipmentInTransit",
		"ShipmentInTransit", "ShipmentInTransit", "ShipmentInTransit", "ShipmentInTransit", "ShipmentOutForDelivery",
		"ShipmentArrived", "ShipmentDelivered"}},
}

func benchID(parts ...any) uuid.UUID {
	sum := sha256.Sum256(fmt.Append(nil, parts...))
	id, _ := uuid.FromBytes(sum[:16])
	id[6] = (id[6] & 0x0f) | 0x40
	id[8] = (id[8] & 0x3f) | 0x80
	return id
}

func orderID(i int) string { return fmt.Sprintf("o-%06d", i) }

// orderEvents returns one order's 30 events in the order they happened,
// recorded from at on, 20 ms apart, and its saga's commands.
func orderEvents(i int, at time.Time) ([]eventstore.RecordedEvent, [][]any) {
	oid := orderID(i)
	var out []eventstore.RecordedEvent
	versions := map[string]uint64{}
	// Round-robin over the three streams, so a correlation crosses
	// services the way an order does.
	var seq []int
	for k := 0; len(seq) < benchPerOrder; k++ {
		for s := range benchStreams {
			if k < len(benchStreams[s].types) {
				seq = append(seq, s)
			}
		}
	}
	var commands [][]any
	for k, s := range seq {
		st := benchStreams[s]
		stream := st.prefix + oid
		versions[stream]++
		v := versions[stream]
		e := eventstore.RecordedEvent{StreamID: stream, Version: v, RecordedAt: at.Add(time.Duration(k) * 20 * time.Millisecond)}
		e.ID = benchID("event", i, k)
		e.Type = st.types[v-1]
		e.Data = fmt.Appendf(nil, `{"order_id":%q,"step":%d,"amount":%d,"currency":"EUR","carrier":"DHL","note":"benchmark event %d of order %s"}`,
			oid, k, 1000+i%977, k, oid)
		e.Metadata.CorrelationID = oid
		switch {
		case k == 0:
			e.Metadata.CausationID = benchID("client", i).String()
		case k <= benchCommands:
			cmd := benchID("command", i, k)
			e.Metadata.CausationID = cmd.String()
			sent := e.RecordedAt.Add(-5 * time.Millisecond)
			commands = append(commands, []any{cmd, "fulfilment", oid, int64(k), "Step" + e.Type, []byte(`{}`),
				out[k-1].ID.String(), false, "", sent, 1, "", sent, sent})
		default:
			e.Metadata.CausationID = out[k-1].ID.String()
		}
		out = append(out, e)
	}
	return out, commands
}

// seedBench fills schema with the benchmark's log, saga tables and
// checkpoints, unless an earlier run did.
func seedBench(b *testing.B, ctx context.Context, pool *pgxpool.Pool, schema string) {
	var n int64
	err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgmigrate.Table(schema, "saga_parked")).Scan(&n)
	if err == nil && n > 0 {
		return // seeded, to the end
	}
	b.Logf("seeding %s with %d events in %d streams (a minute or two)", schema, benchOrders*benchPerOrder, benchOrders*3)
	start := time.Now()
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgmigrate.Quote(schema)+" CASCADE"); err != nil {
		b.Fatal(err)
	}
	store, err := espg.New(pool, espg.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := pgmigrate.Apply(ctx, pool, schema, espg.Migrations, projpg.Migrations, sagapg.Migrations, consolepg.Migrations); err != nil {
		b.Fatal(err)
	}
	// A day of traffic, ending now.
	first := time.Now().Add(-24 * time.Hour)
	step := 24 * time.Hour / benchOrders
	var batch []eventstore.RecordedEvent
	var commands [][]any
	flush := func() {
		if _, err := store.Import(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "saga_outbox"},
			[]string{"id", "saga", "instance_id", "seq", "type", "data", "causation_id", "compensation", "step",
				"created_at", "attempts", "last_error", "next_attempt_at", "sent_at"}, pgx.CopyFromRows(commands)); err != nil {
			b.Fatal(err)
		}
		batch, commands = batch[:0], commands[:0]
	}
	for i := range benchOrders {
		evs, cmds := orderEvents(i, first.Add(time.Duration(i)*step))
		batch = append(batch, evs...)
		commands = append(commands, cmds...)
		if len(batch) >= benchImportRun {
			flush()
		}
	}
	flush()
	t := func(name string) string { return pgmigrate.Table(schema, name) }
	for _, q := range []string{
		// One fulfilment instance per order: most completed, some
		// compensated, a few still running or compensating.
		`INSERT INTO ` + t("saga_instances") + ` (saga, id, status, reason, state, version, steps, seq, commit_pos, prepare_pos, started_at, updated_at)
		SELECT 'fulfilment', 'o-' || lpad(g::text, 6, '0'),
			CASE WHEN g % 100 < 90 THEN 'completed' WHEN g % 100 < 97 THEN 'compensated' WHEN g % 100 < 99 THEN 'running' ELSE 'compensating' END,
			CASE WHEN g % 100 BETWEEN 90 AND 96 THEN 'payment-declined' ELSE '' END,
			convert_to('{"order_id":"o-' || lpad(g::text, 6, '0') || '","reserved":2}', 'UTF8'), 12,
			'["order","stock-0","payment","shipment"]', 5, 0, 0, now() - interval '1 day', now()
		FROM generate_series(0, ` + fmt.Sprint(benchOrders-1) + `) g`,
		`INSERT INTO ` + t("saga_history") + ` (saga, instance_id, at, kind, event_type, detail)
		SELECT 'fulfilment', 'o-' || lpad(g::text, 6, '0'), now() - interval '1 day' + h * interval '20 ms', 'event', 'Step' || h, 'step ' || h || ' done'
		FROM generate_series(0, ` + fmt.Sprint(benchOrders-1) + `) g, generate_series(1, 10) h`,
		`INSERT INTO ` + t("saga_deadlines") + ` (saga, instance_id, name, due_at)
		SELECT 'fulfilment', 'o-' || lpad(g::text, 6, '0'), 'payment', now() + interval '1 hour'
		FROM generate_series(0, ` + fmt.Sprint(benchOrders-1) + `) g WHERE g % 100 BETWEEN 97 AND 98`,
		`INSERT INTO ` + t("saga_parked") + ` (saga, instance_id, event_id, event_type, stream_id, stream_version, commit_pos, prepare_pos, error, attempts, parked_at)
		SELECT 'fulfilment', instance_id, gen_random_uuid(), 'PaymentCharged', 'payment-' || instance_id, 3, 0, 0, 'decode: unexpected end of JSON input', 3, now()
		FROM (SELECT DISTINCT instance_id FROM ` + t("saga_outbox") + ` ORDER BY 1 LIMIT 20) x`,
		`UPDATE ` + t("saga_outbox") + ` SET sent_at = NULL, last_error = 'payment service unavailable', attempts = 7, next_attempt_at = now() + interval '30 s'
		WHERE id IN (SELECT id FROM ` + t("saga_outbox") + ` ORDER BY id LIMIT 10)`,
		`INSERT INTO ` + t("saga_checkpoints") + ` (saga, commit_pos, prepare_pos) SELECT 'fulfilment', transaction_id, position
		FROM ` + t("events") + ` ORDER BY transaction_id DESC, position DESC LIMIT 1`,
		// Four projections: caught up, half the log behind, stopped at a
		// failed event, and filtered by type and behind.
		`INSERT INTO ` + t("projection_checkpoints") + ` (name, commit_pos, prepare_pos, checkpoint_at, handled, state, event_types, owner)
		SELECT 'order-summaries', transaction_id, position, recorded_at, 1000020, 'running', '{}', 'bench/1'
		FROM ` + t("events") + ` ORDER BY transaction_id DESC, position DESC LIMIT 1`,
		`INSERT INTO ` + t("projection_checkpoints") + ` (name, commit_pos, prepare_pos, checkpoint_at, handled, state, event_types, owner)
		SELECT 'payments', transaction_id, position, recorded_at, 500000, 'running', '{PaymentCharged,PaymentCaptured}', 'bench/1'
		FROM ` + t("events") + ` WHERE position = 500000`,
		`INSERT INTO ` + t("projection_checkpoints") + ` (name, commit_pos, prepare_pos, checkpoint_at, handled, state, failed_commit_pos, failed_prepare_pos,
			failed_event_id, failed_stream, failed_version, failed_type, failed_recorded_at, failed_attempts, failed_at, last_error, event_types, owner)
		SELECT 'shipments', transaction_id, position - 1, recorded_at, 900000, 'failed', transaction_id, position, event_id, stream_id, version, type,
			recorded_at, 5, now(), 'shipments: carrier "Zoom" is unknown', '{ShipmentCreated,ShipmentDelivered}', 'bench/2'
		FROM ` + t("events") + ` WHERE position = 900000`,
		`INSERT INTO ` + t("projection_checkpoints") + ` (name, commit_pos, prepare_pos, checkpoint_at, handled, state, event_types, stream_prefixes, owner)
		SELECT 'revenue', transaction_id, position, recorded_at, 31000, 'stopped', '{OrderCompleted}', '{order-}', 'bench/1'
		FROM ` + t("events") + ` WHERE position = 995000`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	for _, table := range []string{"events", "saga_instances", "saga_history", "saga_outbox", "saga_parked", "projection_checkpoints"} {
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+t(table)); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded in %v", time.Since(start).Round(time.Second))
}

// BenchmarkPages times every page of the console, rendered in process
// (no network), over a log of 1,000,020 events in 100,002 streams with a
// saga instance per order and four projections. The schema is kept
// between runs ($CHRONICLE_CONSOLE_BENCH_SCHEMA, default console_bench);
// drop it to seed again. The target is under 200 ms per page.
//
//	go test ./console/postgres -run '^$' -bench Pages -count 5 -benchtime 20x
func BenchmarkPages(b *testing.B) {
	pgtest.Require(b)
	ctx := context.Background()
	schema := os.Getenv("CHRONICLE_CONSOLE_BENCH_SCHEMA")
	if schema == "" {
		schema = "console_bench"
	}
	cfg, err := pgxpool.ParseConfig(pgtest.URL())
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	seedBench(b, ctx, pool, schema)
	src, err := consolepg.New(ctx, pool, consolepg.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	con, err := console.New(console.Config{Events: src.Events(), Index: src, Projections: src, Sagas: src,
		AdminToken: testToken, CacheFor: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer con.Close()
	mid := orderID(benchOrders / 2)
	pages := []struct{ name, path string }{
		{"overview", "/"},
		{"streams", "/streams"},
		{"streams-prefix", "/streams?prefix=order-"},
		{"streams-prefix-page", "/streams?prefix=shipment-&after=shipment-" + mid},
		{"streams-prefix-few", "/streams?prefix=payment-" + mid[:7]},
		{"streams-prefix-none", "/streams?prefix=zzz"},
		{"stream", "/stream?id=shipment-" + mid},
		{"event-by-id", "/event?id=" + benchID("event", benchOrders/2, 7).String()},
		{"event-by-version", "/event?stream=order-" + mid + "&version=5"},
		{"correlation", "/correlation?id=" + mid},
		{"search", "/search?q=" + mid},
		{"tail", "/tail"},
		{"tail-filtered", "/tail?type=PaymentClosed"},
		{"projections", "/projections"},
		{"projection-failed", "/projection?name=shipments"},
		{"sagas", "/sagas"},
		{"saga-compensated", "/saga?name=fulfilment&status=compensated"},
		{"saga-page", "/saga?name=fulfilment&after=" + mid},
		{"saga-instance", "/saga/instance?saga=fulfilment&id=" + mid},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			benchPage(b, con, p.path)
		})
	}
	b.Run("correlation-without-index", func(b *testing.B) {
		consolepg.SetIndexed(src, false)
		defer consolepg.SetIndexed(src, true)
		benchPage(b, con, "/correlation?id="+orderID(benchOrders-10))
	})
}

func benchPage(b *testing.B, h http.Handler, path string) {
	var total time.Duration
	n := 0
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		start := time.Now()
		h.ServeHTTP(rec, req)
		total += time.Since(start)
		n++
		if rec.Code != http.StatusOK && rec.Code != http.StatusSeeOther {
			b.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(n)/1000, "ms/page")
}
