package postgres_test

import (
	"context"
	"testing"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// newStore returns a migrated store on a fresh schema, closed when t ends.
func newStore(t testing.TB, opts ...func(*pgxpool.Config)) (*postgres.Store, *pgxpool.Pool, string) {
	t.Helper()
	pool, schema := pgtest.Pool(t, opts...)
	s, err := postgres.New(pool, postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, pool, schema
}

func TestSmoke(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	res, err := s.Append(ctx, "a", eventstore.NoStream, eventstore.NewEvent("X", []byte(`{"a":1}`)), eventstore.NewEvent("Y", nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", e)
	}
}
