package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/chronicle-go/chronicle/pgtest"
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

func TestTerminate(t *testing.T) {
	pool, schema := pgtest.Pool(t, pgtest.MaxConns(4))
	ctx := t.Context()
	idle, err := pool.Acquire(ctx) // a session of the pool, idle
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Release()
	done := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, `SELECT pg_sleep(60) /* pgtest-terminate */`)
		done <- err
	}()
	n := 0
	for n == 0 {
		n = pgtest.Terminate(t, schema, "%pgtest-terminate%")
		time.Sleep(5 * time.Millisecond)
	}
	if n != 1 {
		t.Fatalf("terminated %d sessions running the query, want 1", n)
	}
	if err := <-done; err == nil {
		t.Fatal("the terminated query succeeded")
	}
	if err := idle.Ping(ctx); err != nil {
		t.Fatalf("an idle session not running the query was ended too: %v", err)
	}
	if n := pgtest.Terminate(t, schema, ""); n < 1 {
		t.Fatalf("Terminate(all) signalled %d sessions, want the idle one at least", n)
	}
	if err := idle.Ping(ctx); err == nil {
		t.Fatal("the idle session survived Terminate(all)")
	}
}
