package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/pgmigrate"
)

// ErrInvalidTable: a table name is not an identifier or schema.identifier.
var ErrInvalidTable = errors.New("projection/postgres: invalid table name")

// quoteTable validates "table" or "schema.table" and quotes it.
func quoteTable(name string) (string, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return "", fmt.Errorf("%w: %q: want table or schema.table", ErrInvalidTable, name)
	}
	for _, p := range parts {
		if err := pgmigrate.ValidateSchema(p); err != nil {
			return "", fmt.Errorf("%w: %q: %w", ErrInvalidTable, name, err)
		}
	}
	return pgx.Identifier(parts).Sanitize(), nil
}

// Truncate returns a reset function (for [projection.Projection.OnReset])
// that empties the read model's tables, named "table" (found through the
// search_path) or "schema.table". A bad name fails the reset, and the
// rebuild, before anything is changed.
//
// TRUNCATE takes an exclusive lock until the rebuild's first batch
// commits; readers of the tables wait that long.
func Truncate(tables ...string) func(context.Context, *Tx) error {
	quoted := make([]string, 0, len(tables))
	var errs []error
	for _, t := range tables {
		q, err := quoteTable(t)
		if err != nil {
			errs = append(errs, err)
		}
		quoted = append(quoted, q)
	}
	if len(tables) == 0 {
		errs = append(errs, fmt.Errorf("%w: Truncate needs at least one table", ErrInvalidTable))
	}
	err := errors.Join(errs...)
	return func(ctx context.Context, tx *Tx) error {
		if err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(quoted, ", "))
		return err
	}
}

// Checksum returns an MD5 digest of the rows of table ("table" or
// "schema.table"), independent of their physical order: two tables with the
// same rows have the same checksum. Use it to prove a rebuilt read model
// equals the one built live.
func Checksum(ctx context.Context, db DB, table string) (string, error) {
	q, err := quoteTable(table)
	if err != nil {
		return "", err
	}
	var sum string
	if err := db.QueryRow(ctx, `SELECT md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM `+q+` t`).Scan(&sum); err != nil {
		return "", fmt.Errorf("projection/postgres: checksum %s: %w", q, err)
	}
	return sum, nil
}
