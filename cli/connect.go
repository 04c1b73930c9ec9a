package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// connectTimeout bounds connecting when the URL sets no connect_timeout.
const connectTimeout = 10 * time.Second

// open connects to the database named by --postgres (or
// CHRONICLE_POSTGRES_URL) and opens the event store on --schema. It checks
// the schema name first, so a bad one never reaches the server, and pings
// the server, so an unreachable one is reported as such.
func (a *app) open(ctx context.Context) (*Env, error) {
	if a.env != nil {
		return a.env, nil
	}
	if err := pgmigrate.ValidateSchema(a.g.schema); err != nil {
		return nil, usagef("--schema: %v", err)
	}
	if err := a.startTelemetry(ctx); err != nil {
		return nil, err
	}
	url := a.g.postgres
	if url == "" {
		url = os.Getenv(EnvPostgresURL)
	}
	if url == "" {
		return nil, usagef("no database: pass --postgres URL or set %s", EnvPostgresURL)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, usagef("invalid PostgreSQL URL: %v", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "chronicle-cli"
	}
	// The schema first on the search_path: the application's projections
	// (rebuild) and sagas name their tables unqualified, as they do on the
	// application's own connections. What the URL set, or PostgreSQL's
	// default, follows.
	rest := cfg.ConnConfig.RuntimeParams["search_path"]
	if rest == "" {
		rest = `"$user", public`
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = pgmigrate.Quote(a.g.schema) + ", " + rest
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	where := cfg.ConnConfig.User + "@" + cfg.ConnConfig.Host + ":" + strconv.Itoa(int(cfg.ConnConfig.Port)) + "/" + cfg.ConnConfig.Database
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, usagef("invalid PostgreSQL URL: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &unreachableError{where: where, err: connectCause(err)}
	}
	store, err := espg.New(pool, espg.Config{Schema: a.g.schema, Logger: a.opts.Logger})
	if err != nil {
		pool.Close()
		return nil, usagef("%v", err)
	}
	a.env = &Env{Pool: pool, Schema: a.g.schema, Events: store, Logger: a.opts.Logger}
	return a.env, nil
}

// connectCause shortens pgx's connect errors (which repeat themselves once
// per address and TLS mode tried) to what an operator needs: the network
// error, or the server's refusal.
func connectCause(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Errorf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr
	}
	return err
}

func (e *Env) close() {
	_ = e.Events.Close()
	e.Pool.Close()
}

// requireMigrated fails with a not-migrated error, naming the component,
// if any of sets has a pending migration in the schema.
func (a *app) requireMigrated(ctx context.Context, env *Env, sets ...pgmigrate.Set) error {
	states, err := pgmigrate.Status(ctx, env.Pool, env.Schema, sets...)
	if err != nil {
		return err
	}
	pending := map[string]int{}
	var order []string
	for _, st := range states {
		if st.Pending() {
			if pending[st.Component] == 0 {
				order = append(order, st.Component)
			}
			pending[st.Component]++
		}
	}
	if len(order) == 0 {
		return nil
	}
	detail := ""
	for i, c := range order {
		if i > 0 {
			detail += ", "
		}
		detail += fmt.Sprintf("%s: %d migration(s) pending", c, pending[c])
	}
	return &notMigratedError{prog: a.opts.Name, schema: env.Schema, detail: detail}
}

// explain turns a raw "relation does not exist" from a query into an error
// that says what is missing and what to do: a component's tables not
// migrated (naming the component, and, when the schema holds none of
// chronicle's tables, the schemas that do), or a table that belongs to no
// known component (the application's own, missing).
func (a *app) explain(ctx context.Context, err error) error {
	if nm, ok := errors.AsType[*notMigratedError](err); ok {
		if nm.others == "" && a.env != nil {
			nm.others = a.emptySchemaHint(ctx, a.env)
		}
		return err
	}
	if errors.Is(err, espg.ErrNotMigrated) {
		nm := &notMigratedError{prog: a.opts.Name, schema: a.g.schema, detail: "eventstore: migrations pending", err: err}
		if a.env != nil {
			nm.others = a.emptySchemaHint(ctx, a.env)
		}
		return nm
	}
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok || !isUndefinedObject(err) {
		return err
	}
	detail := pgErr.Message
	if pgErr.Code == pgerr.UndefinedTable { // whose?
		if table := missingRelation(pgErr.Message); table != "" {
			comp := a.componentOf(table)
			if comp == "" {
				return &missingTableError{schema: a.g.schema, table: table, prog: a.opts.Name, err: err}
			}
			detail = comp + ": " + detail
		}
	}
	nm := &notMigratedError{prog: a.opts.Name, schema: a.g.schema, detail: detail, err: err}
	if a.env != nil {
		nm.others = a.emptySchemaHint(ctx, a.env)
	}
	return nm
}

// missingRelation returns the table named by PostgreSQL's message
// `relation "schema.table" does not exist`, without its schema, or "".
func missingRelation(msg string) string {
	rest, ok := strings.CutPrefix(msg, `relation "`)
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, `"`)
	if !ok {
		return ""
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// componentOf returns the component (chronicle's or the application's)
// whose migrations create table, or "".
func (a *app) componentOf(table string) string {
	re := regexp.MustCompile(`(?i)\{\{schema\}\}\.("?)` + regexp.QuoteMeta(table) + `("?)\b`)
	for _, set := range a.components() {
		for _, m := range set.Migrations {
			if re.MatchString(m.SQL) {
				return set.Component
			}
		}
	}
	return ""
}

// emptySchemaHint returns, when env's schema holds none of the migrated
// components, the schemas that do ("" when it holds some, or when none
// does). It never fails the command it explains: errors give "".
func (a *app) emptySchemaHint(ctx context.Context, env *Env) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	all, err := pgmigrate.Schemas(ctx, env.Pool)
	if err != nil || slices.ContainsFunc(all, func(m pgmigrate.Migrated) bool { return m.Schema == env.Schema }) {
		return ""
	}
	return a.listSchemas(all)
}

// migratedSchemas lists the other schemas holding migrated components, for
// a note, or "".
func (a *app) migratedSchemas(ctx context.Context, env *Env) string {
	all, err := pgmigrate.Schemas(ctx, env.Pool)
	if err != nil {
		return ""
	}
	all = slices.DeleteFunc(all, func(m pgmigrate.Migrated) bool { return m.Schema == env.Schema })
	return a.listSchemas(all)
}

func (a *app) listSchemas(all []pgmigrate.Migrated) string {
	if len(all) == 0 {
		return ""
	}
	parts := make([]string, len(all))
	for i, m := range all {
		parts[i] = m.Schema + " (" + strings.Join(m.Components, ", ") + ")"
	}
	return "schemas that hold chronicle's tables: " + strings.Join(parts, "; ") + ": pass --schema NAME"
}

// startTelemetry installs the SDK of [Options.Telemetry], once.
func (a *app) startTelemetry(ctx context.Context) error {
	if a.stopTelemetry != nil {
		return nil
	}
	if a.opts.Telemetry == nil {
		if a.g.metrics != "" {
			return usagef("--metrics-addr: %s has no telemetry (an embedding program sets cli.Options.Telemetry)", a.opts.Name)
		}
		return nil
	}
	stop, err := a.opts.Telemetry(ctx, a.g.metrics, a.stderr)
	if err != nil {
		return usagef("telemetry: %v", err)
	}
	a.stopTelemetry = stop
	return nil
}
