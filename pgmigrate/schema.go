package pgmigrate

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DefaultSchema is the schema chronicle's PostgreSQL packages and the
// command-line tool use when none is given: the one definition of it.
const DefaultSchema = "chronicle"

// ErrInvalidSchema reports a schema name that is not a plain SQL identifier.
var ErrInvalidSchema = errors.New("pgmigrate: invalid schema name")

// ValidateSchema reports whether name is a plain identifier: a letter or
// underscore, then letters, digits or underscores, at most 63 bytes (the
// PostgreSQL limit). Names are case-sensitive: they are always quoted.
func ValidateSchema(name string) error {
	if name == "" || len(name) > 63 {
		return fmt.Errorf("%w: %q must be 1 to 63 bytes", ErrInvalidSchema, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		digit := '0' <= c && c <= '9'
		if !letter && !(digit && i > 0) {
			return fmt.Errorf("%w: %q: want a letter or underscore, then letters, digits or underscores", ErrInvalidSchema, name)
		}
	}
	return nil
}

// Quote returns the schema name quoted as an SQL identifier. Callers validate
// it first with [ValidateSchema].
func Quote(schema string) string {
	return pgx.Identifier{schema}.Sanitize()
}

// Table returns schema.table quoted, for building SQL from validated names.
func Table(schema, table string) string {
	return pgx.Identifier{schema, table}.Sanitize()
}
