// Package pgmigrate forwards to the public
// [github.com/chronicle-go/chronicle/pgmigrate], where the migrator moved.
// It stays while other branches still import this path; new code imports
// the public package.
//
// Deprecated: import github.com/chronicle-go/chronicle/pgmigrate.
package pgmigrate

import (
	"context"
	"io/fs"

	pub "github.com/chronicle-go/chronicle/pgmigrate"
)

type (
	Migration    = pub.Migration
	Set          = pub.Set
	DB           = pub.DB
	Applied      = pub.Applied
	State        = pub.State
	PendingError = pub.PendingError
	Migrated     = pub.Migrated
)

var (
	ErrInvalidSchema = pub.ErrInvalidSchema
	ErrPending       = pub.ErrPending
)

func Load(component string, fsys fs.FS, dir string) (Set, error) {
	return pub.Load(component, fsys, dir)
}
func MustLoad(component string, fsys fs.FS, dir string) Set {
	return pub.MustLoad(component, fsys, dir)
}
func Apply(ctx context.Context, db DB, schema string, sets ...Set) ([]Applied, error) {
	return pub.Apply(ctx, db, schema, sets...)
}
func Status(ctx context.Context, db DB, schema string, sets ...Set) ([]State, error) {
	return pub.Status(ctx, db, schema, sets...)
}
func Check(ctx context.Context, db DB, schema string, sets ...Set) error {
	return pub.Check(ctx, db, schema, sets...)
}
func Schemas(ctx context.Context, db DB) ([]Migrated, error) { return pub.Schemas(ctx, db) }
func IsUndefinedTable(err error) bool                        { return pub.IsUndefinedTable(err) }
func ValidateSchema(name string) error                       { return pub.ValidateSchema(name) }
func Quote(schema string) string                             { return pub.Quote(schema) }
func Table(schema, table string) string                      { return pub.Table(schema, table) }
