package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/internal/pgmigrate"
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

// explain turns a raw "relation does not exist" from a component's query
// into the not-migrated error that says what to run.
func (a *app) explain(err error) error {
	var nm *notMigratedError
	if errors.As(err, &nm) {
		return err
	}
	if errors.Is(err, espg.ErrNotMigrated) || isUndefinedObject(err) {
		detail := ""
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			detail = pgErr.Message
		}
		return &notMigratedError{prog: a.opts.Name, schema: a.g.schema, detail: detail, err: err}
	}
	return err
}
