package postgres_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/saga"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
	"github.com/chronicle-go/chronicle/saga/sagatest"
)

// newEventStore returns a PostgreSQL event store in a fresh schema.
func newEventStore(t *testing.T) *espg.Store {
	t.Helper()
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(16))
	s, err := espg.New(pool, espg.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openStore opens another pool and store on schema, as a second process
// would.
func openStore(t testing.TB, schema string) *sagapg.Store {
	t.Helper()
	return openStoreAs(t, schema, "")
}

// openStoreAs is openStore whose sessions carry appName (if set) as their
// application_name instead of the schema.
func openStoreAs(t testing.TB, schema, appName string) *sagapg.Store {
	t.Helper()
	cfg := pgtest.Config(t, schema)
	cfg.MaxConns = 16
	if appName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = appName
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := sagapg.New(pool, sagapg.Config{Schema: schema, LockPollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	return s
}

// processes opens store handles as separate processes would, each with an
// application_name of its own, so that one "process" can be killed: every
// session of its pool, and the subscription lease's connection, which is
// opened from the pool's configuration, ended by pg_terminate_backend.
type processes struct {
	mu    sync.Mutex
	names map[saga.Store]string
}

func (p *processes) open(t *testing.T, schema string) saga.Store {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "saga-process-" + hex.EncodeToString(b[:])
	// Runs after the pool closes: ends whatever a killed test left behind.
	t.Cleanup(func() { pgtest.Terminate(t, name, "") })
	s := openStoreAs(t, schema, name)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.names == nil {
		p.names = map[saga.Store]string{}
	}
	p.names[s] = name
	return s
}

func (p *processes) kill(t *testing.T, s saga.Store) {
	t.Helper()
	p.mu.Lock()
	name, ok := p.names[s]
	p.mu.Unlock()
	require.True(t, ok, "the store to kill was not opened by processes.open")
	n := pgtest.Terminate(t, name, "")
	require.Positive(t, n, "no session of %s to terminate", name)
	t.Logf("terminated %d sessions of %s", n, name)
}

func TestWorkflow(t *testing.T) {
	orders := 1000
	if v, err := strconv.Atoi(os.Getenv("CHRONICLE_SAGA_ORDERS")); err == nil && v > 0 {
		orders = v
	}
	var procs processes
	sagatest.RunWorkflow(t, sagatest.WorkflowEnv{
		Events: func(t *testing.T) eventstore.Store { return newEventStore(t) },
		Store: func(t *testing.T) (saga.Store, func(*testing.T) saga.Store) {
			schema := newStore(t).Schema() // creates and migrates the schema
			open := func(t *testing.T) saga.Store { return procs.open(t, schema) }
			return open(t), open
		},
		Orders: orders,
		Kill:   procs.kill,
	})
}
