package banking

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/aggregate"
	"github.com/chronicle-go/chronicle/command"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	"github.com/chronicle-go/chronicle/saga"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// Connect opens a pool on url whose sessions have schema first on their
// search_path, so the read model's unqualified table names find the bank's
// tables.
func Connect(ctx context.Context, url, schema string) (*pgxpool.Pool, error) {
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = pgmigrate.Quote(schema)
	return pgxpool.NewWithConfig(ctx, cfg)
}

// Migrate creates or upgrades every table the bank uses in schema:
// chronicle's event store, projection checkpoints and saga tables, and the
// bank's read model. Running it again does nothing.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	_, err := pgmigrate.Apply(ctx, pool, schema, espg.Migrations, projpg.Migrations, sagapg.Migrations, Migrations)
	return err
}

// App is the bank, wired on PostgreSQL.
type App struct {
	Bus         *command.Bus
	Projections *projection.Runner[*projpg.Tx]
	Transfers   *saga.Engine
	Events      *espg.Store
	ownEvents   bool
}

// New wires the bank on pool and schema, on the event store events (nil:
// a new one, which Close closes). It creates no table: run Migrate first.
func New(pool *pgxpool.Pool, schema string, events *espg.Store, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	registry := Events()
	own := events == nil
	if own {
		var err error
		if events, err = espg.New(pool, espg.Config{Schema: schema, Logger: logger}); err != nil {
			return nil, err
		}
	}
	accounts, err := aggregate.NewRepository(events, registry, aggregate.Config[*Account]{Type: "account"})
	if err != nil {
		return nil, err
	}
	transfers, err := aggregate.NewRepository(events, registry, aggregate.Config[*Transfer]{Type: "transfer"})
	if err != nil {
		return nil, err
	}
	bus, err := command.NewBus(command.Config{Middleware: command.DefaultMiddleware(logger)})
	if err != nil {
		return nil, err
	}
	if err := Handle(bus, accounts, transfers); err != nil {
		return nil, err
	}

	checkpoints, err := projpg.New(pool, projpg.Config{Schema: schema, Logger: logger})
	if err != nil {
		return nil, err
	}
	runner, err := projection.NewRunner(events, checkpoints, projection.Config{Logger: logger}, Balances(registry))
	if err != nil {
		return nil, err
	}

	sagas, err := sagapg.New(pool, sagapg.Config{Schema: schema})
	if err != nil {
		return nil, err
	}
	engine, err := saga.NewEngine(TransferSaga(registry, Commands()), sagas, events, saga.BusSender(bus), saga.Config{Logger: logger})
	if err != nil {
		return nil, err
	}
	return &App{Bus: bus, Projections: runner, Transfers: engine, Events: events, ownEvents: own}, nil
}

// Run runs the read model and the transfer saga until ctx ends.
func (a *App) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	var perr, serr error
	wg.Go(func() { perr = a.Projections.Run(ctx) })
	wg.Go(func() { serr = a.Transfers.Run(ctx) })
	wg.Wait()
	if err := errors.Join(perr, serr); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// Close closes the event store New opened.
func (a *App) Close() error {
	if !a.ownEvents {
		return nil
	}
	return a.Events.Close()
}
