package pgmigrate_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/chronicle-go/chronicle/internal/pgmigrate"
	"github.com/chronicle-go/chronicle/internal/pgtest"
)

func TestValidateSchema(t *testing.T) {
	for _, ok := range []string{"chronicle", "_x", "A1_b", "t_0123456789012345678901234567890123456789012345678901234567"} {
		if err := pgmigrate.ValidateSchema(ok); err != nil {
			t.Errorf("ValidateSchema(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "1a", "a-b", `a"b`, "a;drop table x", "a b", "é", string(make([]byte, 64))} {
		if err := pgmigrate.ValidateSchema(bad); !errors.Is(err, pgmigrate.ErrInvalidSchema) {
			t.Errorf("ValidateSchema(%q) = %v, want ErrInvalidSchema", bad, err)
		}
	}
}

func TestLoadRejectsGaps(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte("SELECT 1")},
		"m/0003_c.sql": {Data: []byte("SELECT 1")},
	}
	if _, err := pgmigrate.Load("x", fsys, "m"); err == nil {
		t.Fatal("Load accepted a gap in versions")
	}
}

func TestApplyIsIdempotentAndConcurrent(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx := context.Background()
	fsys := fstest.MapFS{
		"m/0001_create.sql": {Data: []byte("CREATE TABLE {{schema}}.things (id bigint PRIMARY KEY)")},
		"m/0002_add.sql":    {Data: []byte("ALTER TABLE {{schema}}.things ADD COLUMN name text")},
	}
	set := pgmigrate.MustLoad("things", fsys, "m")

	st, err := pgmigrate.Status(ctx, pool, schema, set)
	if err != nil || len(st) != 2 || !st[0].Pending() || !st[1].Pending() {
		t.Fatalf("status before: %+v, %v", st, err)
	}
	var wg sync.WaitGroup
	ran := make([]int, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() {
			applied, err := pgmigrate.Apply(ctx, pool, schema, set)
			ran[i], errs[i] = len(applied), err
		})
	}
	wg.Wait()
	total := 0
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("Apply %d: %v", i, errs[i])
		}
		total += ran[i]
	}
	if total != 2 {
		t.Fatalf("migrations run %d times in all, want 2", total)
	}
	st, err = pgmigrate.Status(ctx, pool, schema, set)
	if err != nil || st[0].Pending() || st[1].Pending() {
		t.Fatalf("status after: %+v, %v", st, err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO things (id, name) VALUES (1, 'x')"); err != nil {
		t.Fatal(err)
	}
}

func TestFailedMigrationLeavesNothing(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx := context.Background()
	set := pgmigrate.MustLoad("bad", fstest.MapFS{
		"m/0001_ok.sql":  {Data: []byte("CREATE TABLE {{schema}}.a (id int)")},
		"m/0002_bad.sql": {Data: []byte("CREATE TABLE {{schema}}.b (id int); SELECT no_such_function()")},
	}, "m")
	if _, err := pgmigrate.Apply(ctx, pool, schema, set); err == nil {
		t.Fatal("Apply succeeded with a broken migration")
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'b'", schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("table b exists after a failed migration: n=%d err=%v", n, err)
	}
	st, _ := pgmigrate.Status(ctx, pool, schema, set)
	if st[0].Pending() || !st[1].Pending() {
		t.Fatalf("status: %+v", st)
	}
}
