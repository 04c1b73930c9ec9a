package pgmigrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/internal/pgerr"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Set is a component's migrations in version order.
type Set struct {
	Component  string
	Migrations []Migration
}

// Latest returns the highest version in s, or 0.
func (s Set) Latest() int {
	if len(s.Migrations) == 0 {
		return 0
	}
	return s.Migrations[len(s.Migrations)-1].Version
}

// Load reads the files dir/NNNN_name.sql of fsys into a set. Versions must
// start at 1 and have no gaps.
func Load(component string, fsys fs.FS, dir string) (Set, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return Set{}, fmt.Errorf("pgmigrate: %s: %w", component, err)
	}
	set := Set{Component: component}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return Set{}, fmt.Errorf("pgmigrate: %s: file %q: want NNNN_name.sql", component, e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return Set{}, fmt.Errorf("pgmigrate: %s: %w", component, err)
		}
		set.Migrations = append(set.Migrations, Migration{Version: v, Name: name, SQL: string(body)})
	}
	slices.SortFunc(set.Migrations, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range set.Migrations {
		if m.Version != i+1 {
			return Set{}, fmt.Errorf("pgmigrate: %s: versions must run 1, 2, 3… without gaps; found %d at place %d", component, m.Version, i+1)
		}
	}
	return set, nil
}

// MustLoad is [Load] that panics, for package-level variables over embedded
// files (a broken embed is a build mistake).
func MustLoad(component string, fsys fs.FS, dir string) Set {
	s, err := Load(component, fsys, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// DB is what Apply and Status need: a pool, a connection or a transaction.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Applied is one migration that Apply ran.
type Applied struct {
	Component string
	Version   int
	Name      string
}

// Apply runs every migration of sets not yet applied to schema, creating the
// schema and the bookkeeping table if needed, and returns what it ran.
func Apply(ctx context.Context, db DB, schema string, sets ...Set) ([]Applied, error) {
	if err := ValidateSchema(schema); err != nil {
		return nil, err
	}
	var ran []Applied
	for _, set := range sets {
		for _, m := range set.Migrations {
			ok, err := applyOne(ctx, db, schema, set.Component, m)
			if err != nil {
				return ran, err
			}
			if ok {
				ran = append(ran, Applied{Component: set.Component, Version: m.Version, Name: m.Name})
			}
		}
	}
	return ran, nil
}

func applyOne(ctx context.Context, db DB, schema, component string, m Migration) (bool, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("pgmigrate: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The schema's migration lock, in the key format of every chronicle
	// lock (docs/postgres.md): hashtext('chronicle.migrate:"<schema>"'),
	// hashtext(''). Then the key of versions before that format, so that a
	// migrator of an older version, which takes only that one, waits too.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('chronicle.migrate:' || $1::text), hashtext(''))`, Quote(schema)); err != nil {
		return false, fmt.Errorf("pgmigrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('chronicle-migrate:' || $1::text, 0))`, schema); err != nil {
		return false, fmt.Errorf("pgmigrate: lock: %w", err)
	}
	q := Quote(schema)
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+q+`;
CREATE TABLE IF NOT EXISTS `+q+`.chronicle_migrations (
	component  text        NOT NULL,
	version    integer     NOT NULL,
	name       text        NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (component, version)
)`); err != nil {
		return false, fmt.Errorf("pgmigrate: bookkeeping table in %s: %w", q, err)
	}
	var done bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+q+`.chronicle_migrations WHERE component = $1 AND version = $2)`,
		component, m.Version).Scan(&done); err != nil {
		return false, fmt.Errorf("pgmigrate: read status: %w", err)
	}
	if done {
		return false, nil
	}
	sql := strings.ReplaceAll(m.SQL, "{{schema}}", q)
	if _, err := tx.Exec(ctx, sql); err != nil {
		return false, fmt.Errorf("pgmigrate: %s migration %04d_%s: %w", component, m.Version, m.Name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+q+`.chronicle_migrations (component, version, name) VALUES ($1, $2, $3)`,
		component, m.Version, m.Name); err != nil {
		return false, fmt.Errorf("pgmigrate: record %s %d: %w", component, m.Version, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("pgmigrate: commit %s %d: %w", component, m.Version, err)
	}
	return true, nil
}

// State is one migration's status.
type State struct {
	Component string
	Version   int
	Name      string
	// AppliedAt is zero for a pending migration.
	AppliedAt time.Time
}

// Pending reports whether the migration has not been applied.
func (s State) Pending() bool { return s.AppliedAt.IsZero() }

// Status returns every migration of sets with when it was applied; a schema
// that does not exist yet reports everything pending.
func Status(ctx context.Context, db DB, schema string, sets ...Set) ([]State, error) {
	if err := ValidateSchema(schema); err != nil {
		return nil, err
	}
	applied := map[[2]string]time.Time{}
	rows, err := db.Query(ctx, `SELECT component, version, applied_at FROM `+Quote(schema)+`.chronicle_migrations`)
	if err == nil {
		for rows.Next() {
			var c string
			var v int
			var at time.Time
			if err := rows.Scan(&c, &v, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("pgmigrate: status: %w", err)
			}
			applied[[2]string{c, strconv.Itoa(v)}] = at
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil && !IsUndefinedTable(err) {
		return nil, fmt.Errorf("pgmigrate: status: %w", err)
	}
	var out []State
	for _, set := range sets {
		for _, m := range set.Migrations {
			out = append(out, State{Component: set.Component, Version: m.Version, Name: m.Name,
				AppliedAt: applied[[2]string{set.Component, strconv.Itoa(m.Version)}]})
		}
	}
	return out, nil
}

// IsUndefinedTable reports whether err is PostgreSQL's "relation does not
// exist" (42P01) or "schema does not exist" (3F000): a schema that has not
// been migrated.
func IsUndefinedTable(err error) bool {
	return pgerr.Is(err, pgerr.UndefinedTable, pgerr.InvalidSchemaName)
}

// ErrPending matches a [*PendingError].
var ErrPending = errors.New("pgmigrate: migrations pending")

// PendingError reports a schema with migrations not applied yet, per
// component.
type PendingError struct {
	Schema string
	// Pending lists the migrations not applied, in the order of the sets
	// checked.
	Pending []State
}

func (e *PendingError) Error() string {
	counts := map[string]int{}
	var order []string
	for _, st := range e.Pending {
		if counts[st.Component] == 0 {
			order = append(order, st.Component)
		}
		counts[st.Component]++
	}
	parts := make([]string, len(order))
	for i, c := range order {
		parts[i] = fmt.Sprintf("%s: %d pending", c, counts[c])
	}
	return fmt.Sprintf("pgmigrate: schema %s is not migrated (%s)", e.Schema, strings.Join(parts, ", "))
}

// Unwrap returns [ErrPending].
func (e *PendingError) Unwrap() error { return ErrPending }

// Check returns a [*PendingError] if any migration of sets is not applied
// to schema (a schema that does not exist has every migration pending),
// and nil when the schema is up to date.
func Check(ctx context.Context, db DB, schema string, sets ...Set) error {
	states, err := Status(ctx, db, schema, sets...)
	if err != nil {
		return err
	}
	var pending []State
	for _, st := range states {
		if st.Pending() {
			pending = append(pending, st)
		}
	}
	if len(pending) > 0 {
		return &PendingError{Schema: schema, Pending: pending}
	}
	return nil
}
