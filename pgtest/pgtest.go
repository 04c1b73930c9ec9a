// Package pgtest gives tests a real PostgreSQL: a fresh schema per test,
// dropped when the test ends. It never mocks the database.
//
//	func TestBalances(t *testing.T) {
//		pool, schema := pgtest.Pool(t) // search_path is the new schema
//		_, err := pgmigrate.Apply(t.Context(), pool, schema, bank.Migrations)
//		...
//	}
//
// # The server
//
// The server comes from CHRONICLE_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it cannot
// be reached, the first test of the package that needs it fails with one
// line saying how to fix it, and the package's other tests that need it
// skip: `go test ./...` shows the output of failed packages only, so a
// skip alone would pass unseen. To skip the PostgreSQL tests on purpose,
// set CHRONICLE_TEST_POSTGRES=skip. Under CI=true every such test fails
// instead, whatever the variable says: CI must never pass by skipping the
// database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/pgmigrate"
)

// DefaultURL is used when CHRONICLE_TEST_POSTGRES is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// EnvURL names the variable holding the test server's URL, or [Skip].
const EnvURL = "CHRONICLE_TEST_POSTGRES"

// Skip, as the value of CHRONICLE_TEST_POSTGRES, skips the tests that need
// PostgreSQL (except under CI=true, where they fail).
const Skip = "skip"

// URL returns the test server's connection string.
func URL() string {
	if u := os.Getenv(EnvURL); u != "" && u != Skip {
		return u
	}
	return DefaultURL
}

var (
	reachOnce sync.Once
	reachErr  error
	reported  atomic.Bool // the unreachable server failed a test already
)

// Require fails, skips or lets pass the test, once per test binary
// checking that the server answers: see the package documentation.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvURL) == Skip && os.Getenv("CI") != "true" {
		t.Skip("PostgreSQL tests skipped: " + EnvURL + "=" + Skip)
		return
	}
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, URL())
		if err != nil {
			reachErr = err
			return
		}
		defer conn.Close(ctx)
		reachErr = conn.Ping(ctx)
	})
	if reachErr != nil {
		unreachable(t, reachErr, os.Getenv(EnvURL), os.Getenv("CI") == "true", &reported)
	}
}

// unreachable fails or skips t for a server that did not answer: every
// test under CI=true; otherwise the first test of the binary (reported
// remembers it), with the fix in one line, and the others skip.
func unreachable(t testing.TB, err error, env string, ci bool, reported *atomic.Bool) {
	t.Helper()
	where := "PostgreSQL at " + redact(URL())
	if env == "" {
		where += " (the default; " + EnvURL + " is unset)"
	}
	cause := err.Error()
	if i := strings.Index(cause, "\n"); i >= 0 {
		cause = cause[:i]
	}
	if ci {
		if env == Skip {
			t.Fatal(EnvURL + "=" + Skip + " is refused under CI=true: CI must never pass by skipping the database")
			return
		}
		t.Fatal(where + " is unreachable (" + cause + ") — CI=true, so this fails instead of skipping")
		return
	}
	if reported.CompareAndSwap(false, true) {
		t.Fatal(where + " is unreachable (" + cause + "): start PostgreSQL 15+ (README: Set-up), point " +
			EnvURL + " at one, or set " + EnvURL + "=" + Skip + " to skip these tests")
		return
	}
	t.Skip(where + " is unreachable; see the failure above")
}

func redact(u string) string {
	if cfg, err := pgx.ParseConfig(u); err == nil {
		return cfg.User + "@" + cfg.Host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + cfg.Database
	}
	return "the configured server"
}

// Schema creates a fresh, uniquely named schema and drops it (CASCADE) when
// the test ends. The name is a valid identifier for pgmigrate.
func Schema(t testing.TB) string {
	t.Helper()
	Require(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + strings.ToLower(sanitize(t.Name())) + "_" + hex.EncodeToString(b[:])
	if len(name) > 63 {
		name = "t_" + hex.EncodeToString(b[:]) + "_" + strings.ToLower(sanitize(t.Name()))[:40]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgmigrate.Quote(name)); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, URL())
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		// Sessions left by the test (killed connections, idle transactions)
		// would block the drop: end them first.
		_, _ = conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE pid <> pg_backend_pid() AND application_name = $1`, name)

		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgmigrate.Quote(name)+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}

// Config returns a pool configuration for the test server whose sessions
// use schema as their search_path and carry it as application_name (so
// cleanup can end them).
func Config(t testing.TB, schema string) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL())
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", redact(URL()), err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = schema
	return cfg
}

// Pool returns a pool on a fresh schema (see [Schema]), closed when the test
// ends. Pass options to change the pool configuration (MaxConns, say).
func Pool(t testing.TB, opts ...func(*pgxpool.Config)) (*pgxpool.Pool, string) {
	t.Helper()
	schema := Schema(t)
	cfg := Config(t, schema)
	for _, o := range opts {
		o(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the schema's drop (cleanups run last-in first-out)
	return pool, schema
}

// MaxConns is a Pool option setting the pool size.
func MaxConns(n int32) func(*pgxpool.Config) {
	return func(c *pgxpool.Config) { c.MaxConns = n }
}

// Terminate ends, with pg_terminate_backend, the server sessions whose
// application_name is app (a test's schema, for pools made by [Pool]) and,
// when like is not empty, that are running a query matching the LIKE
// pattern like; it returns how many it signalled. It uses a connection of
// its own, never one of the sessions it ends.
func Terminate(t testing.TB, app, like string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL())
	if err != nil {
		t.Fatalf("pgtest: terminate sessions of %s: %v", app, err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()
		  AND ($2 = '' OR (state = 'active' AND query LIKE $2))`, app, like).Scan(&n)
	if err != nil {
		t.Fatalf("pgtest: terminate sessions of %s: %v", app, err)
	}
	return n
}

// AwaitLockWait waits (up to 30 s, then fails t) until a session whose
// application_name is app, running a query that matches the LIKE pattern
// like, waits for a lock of waitEvent ("transactionid" for a row or key
// another transaction holds, "advisory" for an advisory lock).
func AwaitLockWait(t testing.TB, app, like, waitEvent string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL())
	if err != nil {
		t.Fatalf("pgtest: await a lock wait in %s: %v", app, err)
	}
	defer conn.Close(context.Background())
	for {
		var waiting bool
		err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE application_name = $1 AND query LIKE $2 AND wait_event_type = 'Lock' AND wait_event = $3)`,
			app, like, waitEvent).Scan(&waiting)
		if err != nil {
			t.Fatalf("pgtest: await a lock wait in %s: %v", app, err)
		}
		if waiting {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pgtest: no session of %s running %q waited for a %s lock within 30s", app, like, waitEvent)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Querier is what [Rows] needs: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Rows returns a function that runs the query and returns its rows as
// values (text as string, bigint as int64, …): what the projection test
// kit's ThenRows reads a PostgreSQL read model with. Give the query an
// ORDER BY: rows are compared in order.
func Rows(db Querier, sql string, args ...any) func(ctx context.Context) ([][]any, error) {
	return func(ctx context.Context) ([][]any, error) {
		rows, err := db.Query(ctx, sql, args...)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	}
}
