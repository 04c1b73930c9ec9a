package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations is the snapshot store's migration set (component "snapshots"),
// for pgmigrate-based tooling such as `chronicle migrate`.
var Migrations = pgmigrate.MustLoad("snapshots", migrationsFS, "migrations")

// DefaultAttempts is the default of [Config.Attempts].
const DefaultAttempts = 10

// Config configures a [SnapshotStore]. The zero value works (without
// transactions shared with the event store).
type Config struct {
	// Schema holds the snapshots table; by default the event store's schema
	// when EventStore is set, else [pgmigrate.DefaultSchema]. It must be a plain
	// identifier.
	Schema string
	// EventStore pairs the snapshot store with the PostgreSQL event store
	// on the same database, so repositories write events and snapshots in
	// one transaction.
	EventStore *espg.Store
	// Attempts bounds the transactions one AppendWithSnapshot may use when
	// the event store asks for a new one (default [DefaultAttempts]).
	Attempts int
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Schema != "" {
		if err := pgmigrate.ValidateSchema(c.Schema); err != nil {
			errs = append(errs, fmt.Errorf("snapshots: Schema: %w", err))
		}
	}
	if c.Attempts < 0 {
		errs = append(errs, fmt.Errorf("snapshots: Attempts is %d, want 0 (the default) or more", c.Attempts))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Schema == "" && c.EventStore != nil {
		c.Schema = c.EventStore.Schema()
	}
	c.Schema = cmp.Or(c.Schema, pgmigrate.DefaultSchema)
	c.Attempts = cmp.Or(c.Attempts, DefaultAttempts)
	return c
}

// SnapshotStore keeps aggregate snapshots in PostgreSQL. It is safe for
// concurrent use.
type SnapshotStore struct {
	pool   *pgxpool.Pool
	cfg    Config
	load   string
	upsert string
}

var (
	_ aggregate.SnapshotStore       = (*SnapshotStore)(nil)
	_ aggregate.AtomicSnapshotStore = (*SnapshotStore)(nil)
)

// New returns a snapshot store on pool. It validates cfg and never touches
// the database: run [SnapshotStore.Migrate] to create the table.
func New(pool *pgxpool.Pool, cfg Config) (*SnapshotStore, error) {
	if pool == nil {
		return nil, errors.New("snapshots: New: nil pool")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	table := pgmigrate.Table(cfg.Schema, "snapshots")
	return &SnapshotStore{
		pool: pool,
		cfg:  cfg,
		load: `SELECT aggregate_type, version, schema_version, data, created_at FROM ` + table + ` WHERE stream_id = $1`,
		upsert: `INSERT INTO ` + table + ` AS s (stream_id, aggregate_type, version, schema_version, data, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (stream_id) DO UPDATE SET aggregate_type = EXCLUDED.aggregate_type, version = EXCLUDED.version,
    schema_version = EXCLUDED.schema_version, data = EXCLUDED.data, created_at = EXCLUDED.created_at
WHERE s.version <= EXCLUDED.version`,
	}, nil
}

// Schema returns the schema of the snapshots table.
func (s *SnapshotStore) Schema() string { return s.cfg.Schema }

// Migrate applies the snapshot store's pending migrations to its schema,
// creating the schema if needed. It is safe to call from several processes
// at once.
func (s *SnapshotStore) Migrate(ctx context.Context) error {
	_, err := pgmigrate.Apply(ctx, s.pool, s.cfg.Schema, Migrations)
	return err
}

// EventStore implements [aggregate.AtomicSnapshotStore]: the paired event
// store, or nil.
func (s *SnapshotStore) EventStore() eventstore.Store {
	if s.cfg.EventStore == nil {
		return nil
	}
	return s.cfg.EventStore
}
