package postgres_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/eventstore"
	espostgres "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/pgtest"
	"github.com/chronicle-go/chronicle/saga"
	"github.com/chronicle-go/chronicle/saga/internal/workflow"
	"github.com/chronicle-go/chronicle/saga/postgres"
)

// newEventStore returns a PostgreSQL event store in a fresh schema.
func newEventStore(t *testing.T) *espostgres.Store {
	t.Helper()
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(16))
	s, err := espostgres.New(pool, espostgres.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openStore opens another pool and store on schema, as a second process
// would.
func openStore(t testing.TB, schema string) *postgres.Store {
	t.Helper()
	cfg := pgtest.Config(t, schema)
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := postgres.New(pool, postgres.Config{Schema: schema, LockPollInterval: 50 * 1e6})
	require.NoError(t, err)
	return s
}

func TestWorkflow(t *testing.T) {
	orders := 1000
	if v, err := strconv.Atoi(os.Getenv("CHRONICLE_SAGA_ORDERS")); err == nil && v > 0 {
		orders = v
	}
	workflow.Run(t, workflow.Env{
		Events: func(t *testing.T) eventstore.Store { return newEventStore(t) },
		Store: func(t *testing.T) (saga.Store, func(*testing.T) saga.Store) {
			first := newStore(t)
			return first, func(t *testing.T) saga.Store { return openStore(t, first.Schema()) }
		},
		Orders: orders,
	})
}
