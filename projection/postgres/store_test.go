package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	"github.com/chronicle-go/chronicle/projection/projectiontest"
)

func TestStoreConformance(t *testing.T) {
	projectiontest.Run(t, func(t *testing.T) (projection.CheckpointStore[*projpg.Tx], projectiontest.Model[*projpg.Tx]) {
		pool, schema := pgtest.Pool(t, pgtest.MaxConns(4))
		s := newStore(t, pool, schema, "suite")
		if _, err := pool.Exec(context.Background(), `CREATE TABLE keys (k text PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		return s, projectiontest.Model[*projpg.Tx]{
			Write: func(ctx context.Context, tx *projpg.Tx, k string) error {
				tx.Queue(`INSERT INTO keys VALUES ($1)`, k)
				return nil
			},
			Has: func(t testing.TB, k string) bool {
				var ok bool
				if err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM keys WHERE k = $1)`, k).Scan(&ok); err != nil {
					t.Fatal(err)
				}
				return ok
			},
			Reset: projpg.Truncate("keys"),
		}
	})
}

func TestConfigAndNames(t *testing.T) {
	err := projpg.Config{Schema: "bad schema", ClaimInterval: -1}.Validate()
	if !errors.Is(err, pgmigrate.ErrInvalidSchema) || err == nil {
		t.Fatalf("Validate: %v", err)
	}
	if _, err := projpg.ListStatus(context.Background(), nil, `x"; DROP TABLE y`); !errors.Is(err, pgmigrate.ErrInvalidSchema) {
		t.Fatalf("ListStatus with a bad schema: %v", err)
	}
	tx := &projpg.Tx{}
	if err := projpg.Truncate("ok", "no;pe")(context.Background(), tx); !errors.Is(err, projpg.ErrInvalidTable) {
		t.Fatalf("Truncate with a bad table: %v", err)
	}
	if _, err := projpg.Checksum(context.Background(), nil, "a.b.c"); !errors.Is(err, projpg.ErrInvalidTable) {
		t.Fatalf("Checksum with a bad table: %v", err)
	}
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(2))
	st, err := projpg.ListStatus(context.Background(), pool, schema)
	if err == nil || !pgmigrate.IsUndefinedTable(err) || st != nil {
		t.Fatalf("ListStatus before Migrate: %v, %v", st, err)
	}
	s := newStore(t, pool, schema, "x")
	if err := s.Migrate(context.Background()); err != nil { // idempotent
		t.Fatal(err)
	}
	if st, err := projpg.ListStatus(context.Background(), pool, schema); err != nil || len(st) != 0 {
		t.Fatalf("ListStatus of no projections: %v, %v", st, err)
	}
}
