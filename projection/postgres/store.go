package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/internal/pglease"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Component is the name under which the checkpoint table's migrations are
// recorded.
const Component = "projections"

// Migrations is the checkpoint table's migration set (component "projections"),
// for pgmigrate-based tooling such as `chronicle migrate`.
var Migrations = pgmigrate.MustLoad(Component, migrationFiles, "migrations")

// DefaultClaimInterval is [Config.ClaimInterval]'s default.
const DefaultClaimInterval = time.Second

// Config configures a [Store]. The zero value works.
type Config struct {
	// Schema holds the checkpoint table (default [pgmigrate.DefaultSchema]); read
	// models may live anywhere, handlers name their tables themselves.
	Schema string
	// Owner names this process in the checkpoint table (default
	// "hostname/pid").
	Owner string
	// ClaimInterval is how often a standby tries to take a projection over
	// (default [DefaultClaimInterval]): after the owner's connection dies, a standby owns the
	// projection within about this long.
	ClaimInterval time.Duration
	// Logger receives connection problems; nil discards them.
	Logger *slog.Logger
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	if c.Schema != "" {
		if err := pgmigrate.ValidateSchema(c.Schema); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ClaimInterval < 0 {
		errs = append(errs, fmt.Errorf("projection/postgres: config: ClaimInterval is negative (%v)", c.ClaimInterval))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Schema = cmp.Or(c.Schema, pgmigrate.DefaultSchema)
	c.Owner = cmp.Or(c.Owner, pglease.DefaultOwner())
	c.ClaimInterval = cmp.Or(c.ClaimInterval, DefaultClaimInterval)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Store keeps projection checkpoints in PostgreSQL and gives handlers a
// [*Tx] in which their writes commit with the checkpoint. It implements
// [projection.CheckpointStore].
type Store struct {
	pool  *pgxpool.Pool
	cfg   Config
	table string // quoted schema.projection_checkpoints
}

var _ projection.CheckpointStore[*Tx] = (*Store)(nil)

// New returns a store on pool. It creates nothing: call [Store.Migrate] (or
// `chronicle migrate`) first.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("projection/postgres: nil pool")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Store{pool: pool, cfg: cfg, table: checkpointTable(cfg.Schema)}, nil
}

func checkpointTable(schema string) string {
	return pgmigrate.Table(schema, "projection_checkpoints")
}

// Migrate creates or upgrades the checkpoint table in the store's schema.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := pgmigrate.Apply(ctx, s.pool, s.cfg.Schema, Migrations)
	return err
}

// Schema returns the schema holding the checkpoint table.
func (s *Store) Schema() string { return s.cfg.Schema }

// Records implements [projection.CheckpointStore].
func (s *Store) Records(ctx context.Context) ([]projection.Record, error) {
	return ListStatus(ctx, s.pool, s.cfg.Schema)
}

// Skip implements [projection.CheckpointStore].
func (s *Store) Skip(ctx context.Context, name string) error {
	return Skip(ctx, s.pool, s.cfg.Schema, name)
}

// Retry implements [projection.CheckpointStore].
func (s *Store) Retry(ctx context.Context, name string) error {
	return Retry(ctx, s.pool, s.cfg.Schema, name)
}
