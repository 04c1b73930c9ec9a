package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/console"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
	"github.com/chronicle-go/chronicle/saga"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Component is the name of the console's migration component.
const Component = "console"

// Migrations is the console's optional migration set (component
// "console"): the correlation index.
var Migrations = pgmigrate.MustLoad(Component, migrationFiles, "migrations")

// DefaultScanLimit is how many of the most recent events a correlation
// search reads when the correlation index is missing.
const DefaultScanLimit = 50_000

// Config configures a [Source]. The zero value works.
type Config struct {
	// Schema holds chronicle's tables; default [pgmigrate.DefaultSchema].
	Schema string
	// Projections, if set, is the application's projection runner: skip,
	// retry and rebuild go through it (so its projections react at once,
	// and a rebuild has the projection's code). Without it skip and retry
	// change the checkpoint table and rebuild is not offered. Status is
	// always read from the checkpoint table.
	Projections console.Projections
	// Sagas, if set, are the application's saga engines: a parked event
	// can then be retried from the console (it runs the saga's code).
	// Everything else about sagas is read from the saga tables.
	Sagas []*saga.Engine
	// ScanLimit bounds a correlation search without the correlation index;
	// default [DefaultScanLimit].
	ScanLimit int
	// Logger receives the event store's background problems; default
	// discard.
	Logger *slog.Logger
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Schema != "" {
		if err := pgmigrate.ValidateSchema(c.Schema); err != nil {
			errs = append(errs, fmt.Errorf("console/postgres: Schema: %w", err))
		}
	}
	if c.ScanLimit < 0 {
		errs = append(errs, fmt.Errorf("console/postgres: ScanLimit is negative (%d)", c.ScanLimit))
	}
	return errors.Join(errs...)
}

// Source reads one schema for the console. It implements
// [console.Index], [console.Projections], [console.Sagas] (and
// [console.SagaRetrier]) and [console.Relays]. It is safe
// for concurrent use.
type Source struct {
	pool   *pgxpool.Pool
	cfg    Config
	events *espg.Store
	sagas  saga.Inspector // instances and histories; the rest has bounded queries of its own
	sql    statements
	// byteOrder: the events' stream IDs sort in byte order (a C or POSIX
	// collation), so a prefix listing can stop at the prefix's end.
	byteOrder bool

	mu      sync.Mutex
	indexed bool
	checked time.Time
}

var (
	_ console.Index       = (*Source)(nil)
	_ console.Projections = (*Source)(nil)
	_ console.Sagas       = (*Source)(nil)
	_ console.SagaRetrier = (*Source)(nil)
	_ console.Relays      = (*Source)(nil)
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Schema = cmp.Or(c.Schema, pgmigrate.DefaultSchema)
	c.ScanLimit = cmp.Or(c.ScanLimit, DefaultScanLimit)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// New returns a source over the schema of cfg on pool. It checks that the
// event store's tables are there and how stream IDs sort; it creates
// nothing. The pool stays the caller's: [Source.Close] does not close it.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Source, error) {
	if pool == nil {
		return nil, errors.New("console/postgres: nil pool")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// Reads never wait for a transaction in flight: a page shows what is
	// final now.
	events, err := espg.New(pool, espg.Config{Schema: cfg.Schema, Logger: cfg.Logger, HorizonWait: -1})
	if err != nil {
		return nil, err
	}
	sagas, err := sagapg.New(pool, sagapg.Config{Schema: cfg.Schema})
	if err != nil {
		_ = events.Close()
		return nil, err
	}
	s := &Source{pool: pool, cfg: cfg, events: events, sagas: sagas, sql: newStatements(cfg.Schema)}
	var collation string
	err = pool.QueryRow(ctx, `SELECT coalesce(nullif(co.collcollate, ''), d.datcollate)
		FROM pg_attribute a
		JOIN pg_database d ON d.datname = current_database()
		LEFT JOIN pg_collation co ON co.oid = a.attcollation AND co.collname <> 'default'
		WHERE a.attrelid = to_regclass($1) AND a.attname = 'stream_id'`, pgmigrate.Table(cfg.Schema, "events")).Scan(&collation)
	if err != nil {
		_ = events.Close()
		if errors.Is(err, errNoRows) {
			return nil, fmt.Errorf("console/postgres: schema %q has no events table: run `chronicle migrate` (%w)", cfg.Schema, espg.ErrNotMigrated)
		}
		return nil, fmt.Errorf("console/postgres: %w", err)
	}
	switch strings.ToLower(collation) {
	case "c", "posix", "c.utf-8", "c.utf8", "ucs_basic":
		s.byteOrder = true
	}
	return s, nil
}

// Events returns the source's event store, for [console.Config.Events]:
// its reads never wait for transactions in flight. [Source.Close] closes
// it.
func (s *Source) Events() *espg.Store { return s.events }

// Schema returns the schema the source reads.
func (s *Source) Schema() string { return s.cfg.Schema }

// Close stops the event store's background work. It does not close the
// pool.
func (s *Source) Close() error { return s.events.Close() }

// Migrate applies the console's migrations (the correlation index).
func (s *Source) Migrate(ctx context.Context) error {
	_, err := pgmigrate.Apply(ctx, s.pool, s.cfg.Schema, Migrations)
	s.mu.Lock()
	s.checked = time.Time{}
	s.mu.Unlock()
	return err
}

// Components says which of chronicle's components a schema holds.
type Components struct {
	Projections, Sagas, Relays bool
}

// Components reports which of chronicle's components the schema holds:
// the console shows the projection, saga and relay sections only for
// those.
func (s *Source) Components(ctx context.Context) (Components, error) {
	var c Components
	states, err := pgmigrate.Status(ctx, s.pool, s.cfg.Schema, projpg.Migrations, sagapg.Migrations, relaypg.Migrations)
	if err != nil {
		return c, err
	}
	for _, st := range states {
		if st.Version != 1 || st.Pending() {
			continue
		}
		switch st.Component {
		case projpg.Component:
			c.Projections = true
		case relaypg.Component:
			c.Relays = true
		default:
			c.Sagas = true
		}
	}
	return c, nil
}

// correlationIndexed reports whether the correlation index exists,
// checking again at most once a minute.
func (s *Source) correlationIndexed(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.checked.IsZero() && time.Since(s.checked) < time.Minute {
		return s.indexed, nil
	}
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, pgmigrate.Table(s.cfg.Schema, "events_correlation_idx")).Scan(&ok); err != nil {
		return false, err
	}
	s.indexed, s.checked = ok, time.Now()
	return ok, nil
}
