package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/saga"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
	"github.com/chronicle-go/chronicle/saga/sagatest"
)

func newStore(t *testing.T) *sagapg.Store {
	t.Helper()
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(16))
	s, err := sagapg.New(pool, sagapg.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	return s
}

func TestStore(t *testing.T) {
	sagatest.Run(t, func(t *testing.T) (saga.Store, func(*testing.T) saga.Store) {
		s := newStore(t)
		// Another pool on the same schema, as a second process would open.
		return s, func(t *testing.T) saga.Store { return openStore(t, s.Schema()) }
	})
}

func TestConfigValidate(t *testing.T) {
	_, err := sagapg.New(nil, sagapg.Config{})
	require.ErrorIs(t, err, saga.ErrInvalidConfig)
	err = sagapg.Config{Schema: `bad"; DROP TABLE x; --`, LockPollInterval: -1}.Validate()
	require.ErrorIs(t, err, saga.ErrInvalidConfig)
	require.ErrorContains(t, err, "LockPollInterval")
	require.ErrorContains(t, err, "invalid schema")
}
