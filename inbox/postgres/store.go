package postgres

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/inbox"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Component is the name under which the inbox's migrations are recorded.
const Component = "inbox"

// Migrations is the inbox's migration set, for `chronicle migrate`.
var Migrations = pgmigrate.MustLoad(Component, migrationFiles, "migrations")

// Config configures a [Store]. The zero value works.
type Config struct {
	// Schema holds the inbox tables (default [pgmigrate.DefaultSchema]).
	Schema string
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	if c.Schema != "" {
		return pgmigrate.ValidateSchema(c.Schema)
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Schema = cmp.Or(c.Schema, pgmigrate.DefaultSchema)
	return c
}

// Tx is the transaction a handler writes through: its writes commit with
// the processed record.
type Tx struct {
	pgx.Tx
}

// Store implements [inbox.Store] in PostgreSQL.
type Store struct {
	pool      *pgxpool.Pool
	schema    string
	processed string
	failures  string
}

var _ inbox.Store[*Tx] = (*Store)(nil)

// New returns a store on pool. It creates nothing: call [Store.Migrate]
// (or `chronicle migrate`) first.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("inbox/postgres: nil pool")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Store{pool: pool, schema: cfg.Schema,
		processed: pgmigrate.Table(cfg.Schema, "inbox_processed"),
		failures:  pgmigrate.Table(cfg.Schema, "inbox_failures")}, nil
}

// Migrate creates or upgrades the inbox tables.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := pgmigrate.Apply(ctx, s.pool, s.schema, Migrations)
	return err
}

// Commit implements [inbox.Store]: one transaction records ids (one
// statement) and runs apply.
func (s *Store) Commit(ctx context.Context, consumer string, ids []string, apply func(context.Context, *Tx, func(int) bool) error) error {
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("inbox/postgres: begin: %w", err)
	}
	defer ptx.Rollback(context.WithoutCancel(ctx))
	rows, err := ptx.Query(ctx, `INSERT INTO `+s.processed+` (consumer, message_id)
		SELECT $1, id FROM unnest($2::text[]) AS id ON CONFLICT DO NOTHING RETURNING message_id`, consumer, ids)
	if err != nil {
		return fmt.Errorf("inbox/postgres: record: %w", err)
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("inbox/postgres: record: %w", err)
	}
	isNew := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		isNew[id] = true
	}
	fresh := make([]bool, len(ids))
	for i, id := range ids {
		fresh[i] = isNew[id]
		delete(isNew, id) // a repeat within the batch is not fresh
	}
	if err := apply(ctx, &Tx{Tx: ptx}, func(i int) bool { return fresh[i] }); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("inbox/postgres: commit: %w", err)
	}
	return nil
}

// Fail implements [inbox.Store].
func (s *Store) Fail(ctx context.Context, consumer string, m broker.Message, cause error) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `INSERT INTO `+s.failures+` AS f (consumer, message_id, attempts, type, subject, last_error)
		VALUES ($1, $2, 1, $3, $4, $5)
		ON CONFLICT (consumer, message_id) DO UPDATE SET attempts = f.attempts + 1, last_error = $5, updated_at = now()
		RETURNING attempts`, consumer, m.ID, m.Type, m.Subject, cause.Error()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("inbox/postgres: count a failure: %w", err)
	}
	return n, nil
}

// Park implements [inbox.Store].
func (s *Store) Park(ctx context.Context, consumer string, m broker.Message, cause error, attempts int) error {
	attrs := map[string]string{}
	for _, a := range m.Attributes() {
		attrs[a.Name] = a.Value
	}
	js, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO `+s.failures+` AS f (consumer, message_id, state, attempts, type, subject, attributes, data, last_error)
		VALUES ($1, $2, 'parked', $3, $4, $5, $6, $7, $8)
		ON CONFLICT (consumer, message_id) DO UPDATE SET state = 'parked', attempts = greatest(f.attempts, $3),
			attributes = $6, data = $7, last_error = $8, updated_at = now()`,
		consumer, m.ID, attempts, m.Type, m.Subject, js, m.Data, cause.Error())
	if err != nil {
		return fmt.Errorf("inbox/postgres: park %s: %w", m.ID, err)
	}
	return nil
}

// Resolve implements [inbox.Store].
func (s *Store) Resolve(ctx context.Context, consumer string, ids []string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM `+s.failures+` WHERE consumer = $1 AND message_id = ANY($2) AND state = 'failing'`, consumer, ids)
	if err != nil {
		return fmt.Errorf("inbox/postgres: resolve: %w", err)
	}
	return nil
}

// Parked implements [inbox.Store].
func (s *Store) Parked(ctx context.Context, consumer string) ([]inbox.Parked, error) {
	return Parked(ctx, s.pool, s.schema, consumer)
}

// Prune implements [inbox.Store]: it deletes in chunks of 10,000 rows.
func (s *Store) Prune(ctx context.Context, consumer string, before time.Time) (int, error) {
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.processed+` WHERE (consumer, message_id) IN (
			SELECT consumer, message_id FROM `+s.processed+` WHERE consumer = $1 AND processed_at < $2 LIMIT 10000)`, consumer, before)
		if err != nil {
			return total, fmt.Errorf("inbox/postgres: prune: %w", err)
		}
		total += int(tag.RowsAffected())
		if tag.RowsAffected() < 10000 {
			_, err = s.pool.Exec(ctx, `DELETE FROM `+s.failures+` WHERE consumer = $1 AND state = 'failing' AND updated_at < $2`, consumer, before)
			return total, err
		}
	}
}
