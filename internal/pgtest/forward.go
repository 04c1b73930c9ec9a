// Package pgtest forwards to the public
// [github.com/chronicle-go/chronicle/pgtest], where the schema-per-test
// helper moved. It stays while other branches still import this path; new
// code imports the public package.
//
// Deprecated: import github.com/chronicle-go/chronicle/pgtest.
package pgtest

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	pub "github.com/chronicle-go/chronicle/pgtest"
)

const DefaultURL = pub.DefaultURL

func URL() string                                        { return pub.URL() }
func Require(t testing.TB)                               { t.Helper(); pub.Require(t) }
func Schema(t testing.TB) string                         { t.Helper(); return pub.Schema(t) }
func Config(t testing.TB, schema string) *pgxpool.Config { t.Helper(); return pub.Config(t, schema) }
func MaxConns(n int32) func(*pgxpool.Config)             { return pub.MaxConns(n) }
func Terminate(t testing.TB, app, like string) int       { t.Helper(); return pub.Terminate(t, app, like) }
func AwaitLockWait(t testing.TB, app, like, waitEvent string) {
	t.Helper()
	pub.AwaitLockWait(t, app, like, waitEvent)
}
func Pool(t testing.TB, opts ...func(*pgxpool.Config)) (*pgxpool.Pool, string) {
	t.Helper()
	return pub.Pool(t, opts...)
}
