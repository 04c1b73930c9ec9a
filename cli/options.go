package cli

import (
	"cmp"
	"context"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	"github.com/chronicle-go/chronicle/saga"
)

// Options configures [Main]. The zero value is the generic `chronicle`
// binary: every store-level command, and projection and saga status read
// from the database.
type Options struct {
	// Name is the program's name in usage and messages; default
	// [DefaultName].
	Name string
	// Projections, if set, builds the application's projection runner on
	// the connection the command opened. It is called only by the
	// projection commands. With it, `projections rebuild` works, and the
	// other projection commands go through the runner. A
	// [*projection.Runner] satisfies [ProjectionRunner].
	Projections func(ctx context.Context, env *Env) (ProjectionRunner, error)
	// Sagas, if set, builds the application's saga engines on the
	// connection the command opened. It is called only by the saga
	// commands: `sagas list` then shows every registered saga without being
	// told its name, and reads through the engines' own stores.
	Sagas func(ctx context.Context, env *Env) ([]*saga.Engine, error)
	// Migrations are the application's own components (the tables of its
	// read models, say), loaded with [pgmigrate.Load]: `migrate` applies
	// them after chronicle's, `migrate status` lists them, `--components`
	// selects them by name, and a missing table of theirs is reported as
	// their component not migrated.
	Migrations []pgmigrate.Set
	// Logger receives the stores' background logs; default: discarded.
	Logger *slog.Logger
	// Telemetry, if set, installs an OpenTelemetry SDK when a command
	// connects to the database, and returns what stops it (flushing what
	// is buffered) when the command ends. metricsAddr is the
	// --metrics-addr flag: where to serve /metrics, or "". cmd/chronicle
	// sets it to configure the SDK from the standard OTEL_* variables (see
	// docs/observability.md); without it, chronicle's instrumentation uses
	// the global providers, no-ops unless the embedding program installed
	// an SDK, and --metrics-addr is refused.
	Telemetry func(ctx context.Context, metricsAddr string, stderr io.Writer) (stop func(), err error)
}

// DefaultName is [Options.Name]'s default.
const DefaultName = "chronicle"

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	o.Name = cmp.Or(o.Name, DefaultName)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Env is what a command opened: the pool (whose sessions have the schema
// first on their search_path, so unqualified table names find the
// application's tables there), the schema and the PostgreSQL event store
// on them. [Options.Projections] and [Options.Sagas] build the
// application's runner and engines on it. Main closes the store and the pool
// when the command ends.
type Env struct {
	Pool   *pgxpool.Pool
	Schema string
	Events *espg.Store
	Logger *slog.Logger
}

// ProjectionRunner is what the projection commands need from an
// application's projections. [*projection.Runner] implements it, whatever
// its unit of work.
type ProjectionRunner interface {
	Status(ctx context.Context) ([]projection.Status, error)
	Skip(ctx context.Context, name string) error
	Retry(ctx context.Context, name string) error
	Rebuild(ctx context.Context, name string, opts projection.RebuildOptions) error
}

var _ ProjectionRunner = (*projection.Runner[*projection.MemoryTx])(nil)
