package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/jackc/pgx/v5/pgxpool"

	aggpg "github.com/chronicle-go/chronicle/aggregate/postgres"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// poolSize leaves room for W2's and W4's eight writers plus the stores'
// background connections (LISTEN, subscriptions).
const poolSize = 24

// env is what every workload shares: the run's schema, a pool on it, the
// chronicle PostgreSQL stores and the baseline's SQL.
type env struct {
	cfg     Config
	sizes   sizes
	pool    *pgxpool.Pool
	schema  string
	created bool // the run created the schema (and drops it unless Keep)
	log     *slog.Logger
	// progress prints a line of progress.
	progress func(string)

	events    *espg.Store
	snapshots *aggpg.SnapshotStore
	base      baselineSQL
	raw       rawpgxSQL
}

// newSchemaName returns bench_<12 hex digits>.
func newSchemaName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "bench_" + hex.EncodeToString(b[:])
}

// openEnv connects, creates the run's schema (or takes an existing empty
// one), migrates chronicle's tables into it and creates the baseline tables
// beside them.
func openEnv(ctx context.Context, cfg Config, log *slog.Logger) (_ *env, err error) {
	schema := cfg.Schema
	if schema == "" {
		schema = newSchemaName()
	}
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, fmt.Errorf("bench: schema: %w", err)
	}
	pcfg, err := pgxpool.ParseConfig(cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("bench: -postgres: %w", err)
	}
	pcfg.MaxConns = poolSize
	pcfg.ConnConfig.RuntimeParams["application_name"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("bench: connect: %w", err)
	}
	e := &env{cfg: cfg, sizes: cfg.sizes(), pool: pool, schema: schema, log: log}
	defer func() {
		if err != nil {
			e.close(context.WithoutCancel(ctx))
		}
	}()
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("bench: connect: %w", err)
	}
	if err := e.createSchema(ctx); err != nil {
		return nil, err
	}
	if e.events, err = espg.New(pool, espg.Config{Schema: schema, Logger: log}); err != nil {
		return nil, err
	}
	if err := e.events.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("bench: migrate the event store: %w", err)
	}
	if e.snapshots, err = aggpg.New(pool, aggpg.Config{EventStore: e.events}); err != nil {
		return nil, err
	}
	if err := e.snapshots.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("bench: migrate the snapshot store: %w", err)
	}
	if err := e.createBaselineTables(ctx); err != nil {
		return nil, err
	}
	e.base = newBaselineSQL(schema)
	e.raw = newRawpgxSQL(schema)
	if _, err := pool.Exec(ctx, e.raw.table); err != nil {
		return nil, fmt.Errorf("bench: create rawpgx_events: %w", err)
	}
	return e, nil
}

// createSchema creates the run's schema. An existing schema is used only if
// it holds nothing (a test's fresh schema); the run then never drops it.
func (e *env) createSchema(ctx context.Context) error {
	var exists bool
	var objects int
	err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
		(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1)`,
		e.schema).Scan(&exists, &objects)
	if err != nil {
		return fmt.Errorf("bench: look up schema %s: %w", e.schema, err)
	}
	switch {
	case exists && objects > 0:
		return fmt.Errorf("bench: schema %s already holds %d tables or other relations; give a new or empty one", e.schema, objects)
	case exists:
		return nil
	}
	if _, err := e.pool.Exec(ctx, "CREATE SCHEMA "+pgmigrate.Quote(e.schema)); err != nil {
		return fmt.Errorf("bench: create schema %s: %w", e.schema, err)
	}
	e.created = true
	return nil
}

// storageOption is a reloption as pg_class.reloptions lists it.
var storageOption = regexp.MustCompile(`^[a-z_]+=[0-9a-z_.]+$`)

// createBaselineTables creates baseline_<table> for each chronicle table
// the baseline mirrors, LIKE the original INCLUDING ALL (columns, defaults,
// identity, constraints, indexes) and with its storage options, so both do
// their work on the same shape.
func (e *env) createBaselineTables(ctx context.Context) error {
	for _, table := range []string{"events", "snapshots"} {
		var opts []string
		err := e.pool.QueryRow(ctx, `SELECT coalesce(c.reloptions, '{}') FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
			e.schema, table).Scan(&opts)
		if err != nil {
			return fmt.Errorf("bench: look up table %s: %w", table, err)
		}
		with := ""
		for i, o := range opts {
			if !storageOption.MatchString(o) {
				return fmt.Errorf("bench: table %s: unexpected storage option %q", table, o)
			}
			if i == 0 {
				with = " WITH ("
			} else {
				with += ", "
			}
			with += o
		}
		if with != "" {
			with += ")"
		}
		sql := "CREATE TABLE " + pgmigrate.Table(e.schema, "baseline_"+table) +
			" (LIKE " + pgmigrate.Table(e.schema, table) + " INCLUDING ALL)" + with
		if _, err := e.pool.Exec(ctx, sql); err != nil {
			return fmt.Errorf("bench: create baseline_%s: %w", table, err)
		}
	}
	return nil
}

// close stops the stores, drops the schema if the run created it (unless
// Keep) and closes the pool.
func (e *env) close(ctx context.Context) error {
	var errs []error
	if e.events != nil {
		errs = append(errs, e.events.Close())
	}
	if e.created && !e.cfg.Keep {
		// Sessions the run left (a subscription's LISTEN connection) would
		// block the drop only if they held locks; the pool is ours, and the
		// stores are closed.
		if _, err := e.pool.Exec(ctx, "DROP SCHEMA "+pgmigrate.Quote(e.schema)+" CASCADE"); err != nil {
			errs = append(errs, fmt.Errorf("bench: drop schema %s: %w", e.schema, err))
		}
	}
	e.pool.Close()
	return errors.Join(errs...)
}
