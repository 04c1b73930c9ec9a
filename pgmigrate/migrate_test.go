package pgmigrate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/pgtest"
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

// An application's component migrates beside another with one call; Check
// names what is pending; Schemas finds where components are.
func TestCheckAndSchemas(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	ctx := context.Background()
	lib := pgmigrate.MustLoad("lib", fstest.MapFS{"m/0001_a.sql": {Data: []byte("CREATE TABLE {{schema}}.a (id int)")}}, "m")
	app := pgmigrate.MustLoad("app", fstest.MapFS{
		"m/0001_b.sql": {Data: []byte("CREATE TABLE {{schema}}.b (id int)")},
		"m/0002_c.sql": {Data: []byte("CREATE TABLE {{schema}}.c (id int)")},
	}, "m")

	err := pgmigrate.Check(ctx, pool, schema, lib, app)
	var pending *pgmigrate.PendingError
	if !errors.As(err, &pending) || !errors.Is(err, pgmigrate.ErrPending) || len(pending.Pending) != 3 || pending.Schema != schema {
		t.Fatalf("Check before: %v", err)
	}
	if want := "pgmigrate: schema " + schema + " is not migrated (lib: 1 pending, app: 2 pending)"; err.Error() != want {
		t.Fatalf("Check before: %q, want %q", err, want)
	}
	for _, m := range mustSchemas(t, pool) {
		if m.Schema == schema {
			t.Fatalf("Schemas lists %s before any migration: %+v", schema, m)
		}
	}

	if _, err := pgmigrate.Apply(ctx, pool, schema, lib); err != nil {
		t.Fatal(err)
	}
	if err := pgmigrate.Check(ctx, pool, schema, lib); err != nil {
		t.Fatalf("Check lib after its migration: %v", err)
	}
	if err := pgmigrate.Check(ctx, pool, schema, lib, app); !errors.As(err, &pending) || len(pending.Pending) != 2 || pending.Pending[0].Component != "app" {
		t.Fatalf("Check lib and app: %v", err)
	}
	if _, err := pgmigrate.Apply(ctx, pool, schema, lib, app); err != nil {
		t.Fatal(err)
	}
	if err := pgmigrate.Check(ctx, pool, schema, lib, app); err != nil {
		t.Fatalf("Check after: %v", err)
	}
	found := false
	for _, m := range mustSchemas(t, pool) {
		if m.Schema == schema {
			found = true
			if strings.Join(m.Components, ",") != "app,lib" {
				t.Errorf("Schemas: %s holds %v, want app and lib", schema, m.Components)
			}
		}
	}
	if !found {
		t.Errorf("Schemas does not list %s", schema)
	}
	if err := pgmigrate.Check(ctx, pool, "t_never_created", lib); !errors.Is(err, pgmigrate.ErrPending) {
		t.Errorf("Check of a schema that does not exist: %v", err)
	}
}

func mustSchemas(t *testing.T, db pgmigrate.DB) []pgmigrate.Migrated {
	t.Helper()
	all, err := pgmigrate.Schemas(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return all
}
