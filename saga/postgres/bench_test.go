package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/eventstore"
	esmemory "github.com/chronicle-go/chronicle/eventstore/memory"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/internal/workflow"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// roundTrips counts the statements and batches a pool sends: one round
// trip each.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// BenchmarkSagas runs b.N four-step fulfilment sagas (order placed →
// stock → payment → shipment → confirmation, all succeeding) end to end on
// PostgreSQL: the events in the PostgreSQL event store, the saga state,
// outbox and checkpoint in the PostgreSQL saga store, in-process command
// handlers appending to the event store. It reports completed sagas per
// second, the saga store's database round trips per saga step (engine
// loads and commits, reservations, marks, deadline polls; not the progress polls
// of the benchmark itself) and the event store's (the services' appends, the
// subscription's reads, wake-ups). The eventstore=memory variant keeps the
// events in memory, to show the saga machinery's own cost on PostgreSQL.
//
//	go test -run '^$' -bench Sagas -benchtime 2000x -count 5 ./saga/postgres/
func BenchmarkSagas(b *testing.B) {
	b.Run("eventstore=postgres", func(b *testing.B) { benchSagas(b, true) })
	b.Run("eventstore=memory", func(b *testing.B) { benchSagas(b, false) })
}

func benchSagas(b *testing.B, pgEvents bool) {
	ctx := context.Background()
	esTrips := &roundTrips{}
	var events eventstore.Store
	if pgEvents {
		esPool, esSchema := pgtest.Pool(b, pgtest.MaxConns(16), func(c *pgxpool.Config) { c.ConnConfig.Tracer = esTrips })
		pgStore, err := espg.New(esPool, espg.Config{Schema: esSchema})
		require.NoError(b, err)
		require.NoError(b, pgStore.Migrate(ctx))
		b.Cleanup(func() { _ = pgStore.Close() })
		events = pgStore
	} else {
		memStore := esmemory.New(esmemory.Config{})
		b.Cleanup(func() { _ = memStore.Close() })
		events = memStore
	}

	rt := &roundTrips{}
	schema := pgtest.Schema(b)
	cfg := pgtest.Config(b, schema)
	cfg.MaxConns = 16
	cfg.ConnConfig.Tracer = rt
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	store, err := sagapg.New(pool, sagapg.Config{Schema: schema})
	require.NoError(b, err)
	require.NoError(b, store.Migrate(ctx))

	// Progress is polled through a separate, untraced pool.
	watch := openStore(b, schema)

	evReg, cmdReg := workflow.Registries()
	svc := workflow.NewServices(events, evReg)
	engine, err := saga.NewEngine(workflow.Definition(evReg, cmdReg), store, events, saga.BusSender(svc.Bus),
		saga.Config{DispatchBatch: benchInt("SAGA_DISPATCH_BATCH"), DispatchWorkers: benchInt("SAGA_DISPATCH_WORKERS"), BatchSize: benchInt("SAGA_BATCH")})
	require.NoError(b, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = engine.Run(runCtx) }()
	b.Cleanup(func() { cancel(); <-done })

	n := b.N
	// Place every order first (not timed), then let the engine run them.
	placed := make(chan error, 8)
	for w := range 8 {
		go func() {
			var err error
			for i := w; i < n && err == nil; i += 8 {
				err = svc.Place(ctx, fmt.Sprintf("b%07d", i), "")
			}
			placed <- err
		}()
	}
	for range 8 {
		require.NoError(b, <-placed)
	}
	rt.n.Store(0)
	esTrips.n.Store(0)
	start := time.Now()
	b.ResetTimer()
	for {
		counts, err := watch.Count(ctx, workflow.Name)
		require.NoError(b, err)
		if counts[saga.Completed] == n {
			// All four commands of each saga sent: the last one too.
			failing, err := watch.FailingCommands(ctx, workflow.Name)
			require.NoError(b, err)
			require.Empty(b, failing)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	trips := rt.n.Load()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "sagas/s")
	b.ReportMetric(float64(trips)/float64(4*n), "saga-roundtrips/step")
	if pgEvents {
		b.ReportMetric(float64(esTrips.n.Load())/float64(4*n), "eventstore-roundtrips/step")
	}
}

// benchInt reads an engine setting for the benchmark from the environment;
// 0 (unset) means the default.
func benchInt(name string) int {
	v, _ := strconv.Atoi(os.Getenv(name))
	return v
}
