package pgtest_test

import (
	"context"
	"testing"

	"github.com/chronicle-go/chronicle/internal/pgtest"
)

func TestPoolUsesItsOwnSchema(t *testing.T) {
	pool, schema := pgtest.Pool(t)
	var got string
	if err := pool.QueryRow(context.Background(), "SELECT current_schema()").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != schema {
		t.Fatalf("current_schema() = %q, want %q", got, schema)
	}
	if _, err := pool.Exec(context.Background(), "CREATE TABLE x (id int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(context.Background(),
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'x'", schema).Scan(&n); err != nil || n != 1 {
		t.Fatalf("table x in %s: n=%d err=%v", schema, n, err)
	}
}
