package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ShadowTables returns a reset function (for
// [projection.Projection.OnReset]) that rebuilds the read model's tables
// blue/green: instead of emptying them, the rebuild creates empty copies
// (CREATE TABLE … (LIKE … INCLUDING ALL)) in a shadow schema and replays the
// log into those, while the live tables keep serving reads — frozen at the
// rebuild's start, since the projection applies nothing else meanwhile. When
// the replay reaches the head, one transaction drops the live tables, moves
// the copies into their place and sets the projection running.
//
// During the rebuild each batch's transaction puts the shadow schema first
// on its search_path, so handlers must name these tables unqualified (found
// through the search_path), and the tables must be visible through the
// search_path of the store's connections. Constraints that LIKE does not
// copy (foreign keys) are not recreated, and views or foreign keys that
// depend on a live table make the swap fail (the rebuild then stops with the
// error and the live tables stay as they are).
//
// A rebuild interrupted by a crash resumes into the same shadow tables.
func ShadowTables(tables ...string) func(context.Context, *Tx) error {
	var errs []error
	for _, t := range tables {
		if _, err := quoteTable(t); err != nil {
			errs = append(errs, err)
		}
	}
	if len(tables) == 0 {
		errs = append(errs, fmt.Errorf("%w: ShadowTables needs at least one table", ErrInvalidTable))
	}
	err := errors.Join(errs...)
	return func(ctx context.Context, tx *Tx) error {
		if err != nil {
			return err
		}
		if tx.projection == "" {
			return errors.New("projection/postgres: ShadowTables runs only as a projection's reset function")
		}
		sum := sha256.Sum256([]byte(tx.schema + ":" + tx.projection))
		shadow := "chronicle_shadow_" + hex.EncodeToString(sum[:12])
		qs := pgx.Identifier{shadow}.Sanitize()
		if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+qs+` CASCADE; CREATE SCHEMA `+qs); err != nil {
			return fmt.Errorf("projection/postgres: shadow schema: %w", err)
		}
		live := make([]string, 0, len(tables))
		for _, t := range tables {
			q, _ := quoteTable(t)
			var nsp, rel string
			err := tx.QueryRow(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE c.oid = to_regclass($1)`, q).Scan(&nsp, &rel)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("projection/postgres: shadow of %s: no such table", q)
			}
			if err != nil {
				return fmt.Errorf("projection/postgres: shadow of %s: %w", q, err)
			}
			full := pgx.Identifier{nsp, rel}.Sanitize()
			if _, err := tx.Exec(ctx, `CREATE TABLE `+pgx.Identifier{shadow, rel}.Sanitize()+` (LIKE `+full+` INCLUDING ALL)`); err != nil {
				return fmt.Errorf("projection/postgres: shadow of %s: %w", full, err)
			}
			live = append(live, nsp+"."+rel)
		}
		tx.shadow, tx.shadowTables = shadow, live
		return nil
	}
}

// swapShadow replaces the live tables by their shadow copies and drops the
// shadow schema, inside tx.
func swapShadow(ctx context.Context, tx *Tx, shadow string, live []string) error {
	for _, full := range live {
		nsp, rel, ok := cut(full)
		if !ok {
			return fmt.Errorf("projection/postgres: bad shadowed table %q", full)
		}
		if _, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{nsp, rel}.Sanitize()+`;
			ALTER TABLE `+pgx.Identifier{shadow, rel}.Sanitize()+` SET SCHEMA `+pgx.Identifier{nsp}.Sanitize()); err != nil {
			return fmt.Errorf("projection/postgres: swap %s for its rebuilt copy: %w", full, err)
		}
	}
	if _, err := tx.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{shadow}.Sanitize()+` CASCADE`); err != nil {
		return fmt.Errorf("projection/postgres: drop shadow schema: %w", err)
	}
	return nil
}

// cut splits "schema.table" as stored by ShadowTables (both parts are names
// read from the catalog, which may contain dots only if quoted; ShadowTables
// only accepts plain identifiers).
func cut(full string) (string, string, bool) {
	for i := 0; i < len(full); i++ {
		if full[i] == '.' {
			return full[:i], full[i+1:], i > 0 && i < len(full)-1
		}
	}
	return "", "", false
}
