// Package postgres runs the e-commerce example on PostgreSQL: the event
// log ([github.com/chronicle-go/chronicle/eventstore/postgres]), the sagas'
// state, outbox and deadlines
// ([github.com/chronicle-go/chronicle/saga/postgres]) and the read models
// ([github.com/chronicle-go/chronicle/examples/ecommerce/readmodel/postgres]),
// all in one schema, with every migration applied by [Open].
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/broker"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/inbox"
	inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"

	"github.com/chronicle-go/chronicle/examples/ecommerce/readmodel"
	rmpg "github.com/chronicle-go/chronicle/examples/ecommerce/readmodel/postgres"
	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
)

// DefaultSchema is the schema used when Config.Schema is empty.
const DefaultSchema = "ecommerce"

// Config configures [Open]. The zero value works.
type Config struct {
	// Schema holds every table of the example (default [DefaultSchema]).
	Schema string
	// Fresh drops the schema, and everything in it, before migrating.
	Fresh bool
	// MaxConns sizes the connection pool (default 32).
	MaxConns int32
	// Logger receives the stores' background problems; none by default.
	Logger *slog.Logger
}

// Backend is a [scenario.Backend] on PostgreSQL; Close releases it.
type Backend struct {
	scenario.Backend
	Schema  string
	pool    *pgxpool.Pool
	events  *espg.Store
	levents *espg.Store
}

// Open connects to url, applies the migrations of the event store, the
// sagas, the projection checkpoints and the read models to the schema, and
// returns the backend.
func Open(ctx context.Context, url string, cfg Config) (*Backend, error) {
	schema := cmp.Or(cfg.Schema, DefaultSchema)
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	pcfg.MaxConns = cmp.Or(cfg.MaxConns, 32)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	b, err := open(ctx, pool, schema, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return b, nil
}

func open(ctx context.Context, pool *pgxpool.Pool, schema string, cfg Config) (*Backend, error) {
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	lschema := LogisticsSchema(schema)
	if err := pgmigrate.ValidateSchema(lschema); err != nil {
		return nil, fmt.Errorf("the logistics context's schema: %w", err)
	}
	if cfg.Fresh {
		for _, s := range []string{schema, lschema} {
			if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgmigrate.Quote(s)+" CASCADE"); err != nil {
				return nil, err
			}
		}
	}
	events, err := espg.New(pool, espg.Config{Schema: schema, Logger: cfg.Logger, PollInterval: 50 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	sagas, err := sagapg.New(pool, sagapg.Config{Schema: schema})
	if err != nil {
		return nil, err
	}
	cps, err := projpg.New(pool, projpg.Config{Schema: schema, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	order, err := integration(pool, schema, events)
	if err != nil {
		return nil, err
	}
	levents, err := espg.New(pool, espg.Config{Schema: lschema, Logger: cfg.Logger, PollInterval: 50 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	lsagas, err := sagapg.New(pool, sagapg.Config{Schema: lschema})
	if err != nil {
		return nil, err
	}
	lint, err := integration(pool, lschema, levents)
	if err != nil {
		return nil, err
	}
	err = errors.Join(events.Migrate(ctx), sagas.Migrate(ctx), cps.Migrate(ctx), levents.Migrate(ctx), lsagas.Migrate(ctx))
	if err == nil {
		_, err = pgmigrate.Apply(ctx, pool, schema, rmpg.Migrations, relaypg.Migrations, inboxpg.Migrations)
	}
	if err == nil {
		_, err = pgmigrate.Apply(ctx, pool, lschema, relaypg.Migrations, inboxpg.Migrations)
	}
	if err != nil {
		return nil, fmt.Errorf("migrate schemas %s and %s: %w", schema, lschema, err)
	}
	b := &Backend{Schema: schema, pool: pool, events: events, levents: levents}
	b.Backend = scenario.Backend{
		Name:   "postgres",
		Events: events,
		Sagas:  sagas,
		ReadModels: func(reg *eventstore.Registry, pc projection.Config) (readmodel.Store, error) {
			return rmpg.New(pool, schema, events, reg, pc)
		},
		PollInterval: 100 * time.Millisecond,
		Inbox: func(name, prefix string, types []string, handle func(context.Context, eventstore.RecordedEvent) error, pc projection.Config) (scenario.Consumer, error) {
			return scenario.NewInbox(events, cps, name, prefix, types, handle, pc)
		},
		Owned: func(ctx context.Context) (map[string]bool, error) {
			recs, err := cps.Records(ctx)
			if err != nil {
				return nil, err
			}
			owned := map[string]bool{}
			for _, r := range recs {
				owned[r.Name] = r.Owned
			}
			return owned, nil
		},
		Order:     order,
		Logistics: scenario.LogisticsStorage{Events: levents, Sagas: lsagas, Integration: lint},
	}
	return b, nil
}

// Pool returns the backend's connection pool (for the web console).
func (b *Backend) Pool() *pgxpool.Pool { return b.pool }

// LogLength counts the events in the log: a schema left by an earlier run
// holds some.
func (b *Backend) LogLength(ctx context.Context) (int64, error) {
	var n int64
	err := b.pool.QueryRow(ctx, "SELECT count(*) FROM "+pgmigrate.Table(b.Schema, "events")).Scan(&n)
	return n, err
}

// Close stops the event stores' background work and closes the pool.
func (b *Backend) Close() {
	_ = b.events.Close()
	_ = b.levents.Close()
	b.pool.Close()
}

// LogisticsSchema is the schema of the logistics context's own tables
// beside the order context's schema.
func LogisticsSchema(schema string) string { return schema + "_logistics" }

// integration keeps a context's relay state and inbox in schema; its
// inbox handlers append through the inbox's transaction.
func integration(pool *pgxpool.Pool, schema string, events *espg.Store) (scenario.Integration, error) {
	relays, err := relaypg.New(pool, relaypg.Config{Schema: schema, ClaimInterval: 200 * time.Millisecond})
	if err != nil {
		return scenario.Integration{}, err
	}
	records, err := inboxpg.New(pool, inboxpg.Config{Schema: schema})
	if err != nil {
		return scenario.Integration{}, err
	}
	return scenario.Integration{
		Relays: relays,
		Inbox: func(c broker.Consumer, cfg inbox.Config, handle func(context.Context, eventstore.Store, broker.Message) error) (scenario.InboxRunner, error) {
			return inbox.New(c, records, inbox.HandlerFunc[*inboxpg.Tx](func(ctx context.Context, tx *inboxpg.Tx, m broker.Message) error {
				return handle(ctx, txStore{Store: events, tx: tx}, m)
			}), cfg)
		},
		Processed: func(ctx context.Context, consumer string) (int, error) {
			st, err := inboxpg.Status(ctx, pool, schema)
			for _, s := range st {
				if s.Consumer == consumer {
					return int(s.Processed), err
				}
			}
			return 0, err
		},
	}, nil
}

// txStore is an event store whose appends join an inbox's transaction;
// reads see what is committed.
type txStore struct {
	*espg.Store
	tx *inboxpg.Tx
}

func (s txStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.Event) (eventstore.AppendResult, error) {
	return s.Store.AppendTx(ctx, s.tx.Tx, stream, expected, events...)
}
