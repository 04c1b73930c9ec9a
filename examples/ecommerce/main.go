// Command ecommerce runs chronicle's order-to-logistics example: four
// services (order, inventory, payment, logistics) that talk only through
// commands and events, the fulfilment saga with its compensations, and the
// read models — on the embedded in-memory default, or on PostgreSQL.
//
//	go run ./examples/ecommerce                      # 200 seeded orders in memory
//	go run ./examples/ecommerce -orders 2000 -seed 7
//	go run ./examples/ecommerce -postgres postgres://localhost/shop -fresh
//	go run ./examples/ecommerce -postgres postgres://localhost/shop -fresh -broker nats://127.0.0.1:4222
//
// It prints a report — orders by final state, compensations by kind, the
// stock and money checks, throughput — and exits 0 only if every invariant
// holds. See README.md in this folder.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
	pgbackend "github.com/chronicle-go/chronicle/examples/ecommerce/scenario/postgres"
	"github.com/chronicle-go/chronicle/examples/ecommerce/transport"
	"github.com/chronicle-go/chronicle/internal/otelsdk"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	cfg      scenario.Config
	rates    scenario.Rates
	quiet    bool
	postgres string
	schema   string
	fresh    bool
	replay   bool
	console  string
	broker   string
	roles    scenario.Roles
	metrics  string
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ecommerce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.cfg.Orders, "orders", 200, "number of orders to place")
	fs.Uint64Var(&o.cfg.Seed, "seed", 1, "seed of the scenario: the same seed gives the same report")
	fs.Float64Var(&o.rates.OutOfStock, "out-of-stock", scenario.DefaultRates.OutOfStock, "share of orders asking for more than is in stock")
	fs.Float64Var(&o.rates.PaymentDeclined, "declined", scenario.DefaultRates.PaymentDeclined, "share of orders whose payment is declined")
	fs.Float64Var(&o.rates.DeadlineExpired, "abandoned", scenario.DefaultRates.DeadlineExpired, "share of orders whose payment is never confirmed (deadline expires)")
	fs.Float64Var(&o.rates.ShipmentFailed, "undeliverable", scenario.DefaultRates.ShipmentFailed, "share of orders whose shipment fails")
	fs.IntVar(&o.cfg.Concurrency, "clients", 16, "orders placed at once")
	fs.DurationVar(&o.cfg.PaymentDeadline, "payment-deadline", 500*time.Millisecond, "how long the saga waits for a payment's outcome")
	fs.DurationVar(&o.cfg.Timeout, "timeout", 2*time.Minute, "give up if the run has not settled by then")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	fs.StringVar(&o.postgres, "postgres", "", "run on PostgreSQL at this URL (events, saga state, read models), instead of in memory")
	fs.StringVar(&o.schema, "schema", pgbackend.DefaultSchema, "with -postgres: the schema holding every table")
	fs.BoolVar(&o.fresh, "fresh", false, "with -postgres: drop the schema and everything in it first")
	fs.BoolVar(&o.replay, "replay", false, "rebuild every read model from the event log and prove it identical to the live one; "+
		"with -postgres on a schema holding an earlier run's log, only that")
	fs.StringVar(&o.console, "console", "", "serve the web console at this address (127.0.0.1:8080) during the run and after it, until interrupted; "+
		"$"+envConsoleToken+" enables its actions")
	fs.StringVar(&o.broker, "broker", "", "the broker between the order and logistics contexts: nats://127.0.0.1:4222 (JetStream) or "+
		"amqp://guest:guest@127.0.0.1:5672/ (RabbitMQ); default an in-process one, which needs both contexts in one process")
	fs.StringVar(&o.metrics, "metrics-addr", "", "serve the metrics for Prometheus at http://ADDR/metrics (127.0.0.1:9464) during the run and after it, "+
		"until interrupted; traces and metrics also go to an OTLP/HTTP endpoint given by the OTEL_* variables (see docs/observability.md)")
	role := fs.String("role", "all", "with -postgres: what this process runs, a comma-separated list of "+
		"order, inventory, payment, logistics (or services), fulfilment, carriers, projections, client; "+
		"a process without client serves until interrupted")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.postgres == "" {
		var stray []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "schema" || f.Name == "fresh" {
				stray = append(stray, "-"+f.Name)
			}
		})
		if len(stray) > 0 {
			return o, fmt.Errorf("%s needs -postgres: the in-memory run keeps nothing to name or drop", strings.Join(stray, " and "))
		}
	}
	var err error
	if o.roles, err = scenario.ParseRoles(*role); err != nil {
		return o, err
	}
	if o.postgres == "" && len(o.roles) != len(scenario.AllRoles) {
		return o, fmt.Errorf("-role needs -postgres: processes share their work through the database")
	}
	o.cfg.Roles = o.roles
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.cfg.Rates = &o.rates
	if o.cfg.Orders <= 0 {
		return o, fmt.Errorf("-orders must be positive")
	}
	return o, o.cfg.Validate()
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(stderr, "ecommerce:", err)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return runOpts(ctx, o, stdout, stderr)
}

// runOpts runs the example as o asks until it is done or, with -console,
// until ctx ends.
func runOpts(ctx context.Context, o options, stdout, stderr io.Writer) int {
	if !o.quiet && isTerminal(stderr) {
		o.cfg.Progress = stderr
	}
	sdk, err := otelsdk.Start(ctx, otelsdk.Options{ServiceName: "ecommerce", MetricsAddr: o.metrics})
	if err != nil {
		fmt.Fprintln(stderr, "ecommerce:", err)
		return 2
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := sdk.Shutdown(sctx); err != nil {
			fmt.Fprintln(stderr, "ecommerce: flushing telemetry:", err)
		}
	}()
	if sdk.MetricsURL != "" {
		fmt.Fprintf(stderr, "ecommerce: metrics on %s\n", sdk.MetricsURL)
	}
	backend := scenario.MemoryBackend()
	var pgb *pgbackend.Backend
	if o.broker != "" {
		// In memory nothing survives the run: what the broker holds from an
		// earlier one is cleared. On PostgreSQL, -fresh clears it with the
		// schema.
		t, err := transport.Open(ctx, o.broker, o.schema, o.fresh || o.postgres == "")
		if err != nil {
			fmt.Fprintln(stderr, "ecommerce:", err)
			return 1
		}
		defer t.Close()
		o.cfg.Transport = t
	}
	if o.postgres != "" {
		pg, err := pgbackend.Open(ctx, o.postgres, pgbackend.Config{Schema: o.schema, Fresh: o.fresh})
		if err != nil {
			fmt.Fprintln(stderr, "ecommerce:", err)
			return 1
		}
		defer pg.Close()
		if !o.roles.Has(scenario.RoleClient) {
			fmt.Fprintf(stderr, "ecommerce: serving %s on schema %s until interrupted\n", o.roles, pg.Schema)
			if err := scenario.Serve(ctx, pg.Backend, scenario.AppConfig{PaymentDeadline: o.cfg.PaymentDeadline, Roles: o.roles, Transport: o.cfg.Transport}); err != nil {
				fmt.Fprintln(stderr, "ecommerce:", err)
				return 1
			}
			return 0
		}
		n, err := pg.LogLength(ctx)
		if err == nil && n > 0 && o.replay {
			return replayOnly(ctx, pg, stdout, stderr, o.cfg.Progress)
		}
		if err != nil || n > 0 {
			if err == nil {
				err = fmt.Errorf("schema %s already holds %d events of an earlier run: add -fresh to drop it, pick another -schema, or -replay to rebuild its read models", o.schema, n)
			}
			fmt.Fprintln(stderr, "ecommerce:", err)
			return 1
		}
		backend, pgb = pg.Backend, pg
	}
	o.cfg.Replay = o.replay
	var con *consoleServer
	if o.console != "" {
		var err error
		if con, err = listenConsole(o.console, pgb); err != nil {
			fmt.Fprintln(stderr, "ecommerce:", err)
			return 2
		}
		defer con.close()
		o.cfg.Started = func(app *scenario.App) error { return con.start(ctx, app) }
	}
	rep, err := scenario.Run(ctx, backend, o.cfg)
	if err != nil {
		fmt.Fprintln(stderr, "ecommerce:", err)
		return 1
	}
	rep.Print(stdout, true)
	code := 0
	if !rep.OK() {
		code = 1
	}
	if pgb != nil {
		printInspect(stdout, o.postgres, pgb.Schema)
	}
	if con != nil {
		con.serve(ctx, stderr)
	} else if sdk.MetricsURL != "" {
		fmt.Fprintf(stderr, "ecommerce: serving the metrics on %s until interrupted\n", sdk.MetricsURL)
		<-ctx.Done()
	}
	return code
}

// replayOnly rebuilds the read models of the log an earlier run left in
// PostgreSQL.
func replayOnly(ctx context.Context, pg *pgbackend.Backend, stdout, stderr, progress io.Writer) int {
	n, _ := pg.LogLength(ctx)
	fmt.Fprintf(stdout, "schema %s holds %d events: replaying them\n", pg.Schema, n)
	rep, err := scenario.ReplayBackend(ctx, pg.Backend, progress)
	if err != nil {
		fmt.Fprintln(stderr, "ecommerce:", err)
		return 1
	}
	rep.Print(stdout, true)
	if !rep.OK() {
		return 1
	}
	return 0
}

// isTerminal reports whether w is a terminal (not a pipe, a file or
// /dev/null): the progress line is drawn only there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// inspectCommands are the chronicle CLI commands (arguments after the
// program name) that show what a PostgreSQL run left in schema.
func inspectCommands(url, schema string) [][]string {
	base := []string{"--postgres", url, "--schema", schema}
	return [][]string{
		append(slices.Clone(base), "sagas", "list"),
		append(slices.Clone(base), "sagas", "show", "fulfilment", "o-00001"),
		append(slices.Clone(base), "projections", "status"),
		append(slices.Clone(base), "streams", "read", "order-o-00001"),
	}
}

// printInspect prints inspectCommands as shell commands, the URL quoted
// and its password, if any, replaced.
func printInspect(w io.Writer, rawURL, schema string) {
	shown, note := rawURL, ""
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "PASSWORD")
			shown, note = u.String(), " (put your password in place of PASSWORD)"
		}
	}
	fmt.Fprintf(w, "\ninspect what the run left with chronicle's CLI%s:\n", note)
	for _, args := range inspectCommands(shown, schema) {
		args[1] = "'" + strings.ReplaceAll(args[1], "'", `'\''`) + "'"
		fmt.Fprintf(w, "  go run ./cmd/chronicle %s\n", strings.Join(args, " "))
	}
}
