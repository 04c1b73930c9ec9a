package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/chronicle-go/chronicle/console"
	consolepg "github.com/chronicle-go/chronicle/console/postgres"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/saga"
)

// EnvConsoleToken is the environment variable holding the web console's
// admin token (a flag would show it in the process list).
const EnvConsoleToken = "CHRONICLE_CONSOLE_TOKEN"

// DefaultConsoleAddr is where `console` listens unless told otherwise:
// this machine only.
const DefaultConsoleAddr = "127.0.0.1:8080"

// runConsole serves the web console until interrupted.
func runConsole(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("console", &a.g, a.stderr)
	addr := fs.String("addr", DefaultConsoleAddr, "address to listen on (host:port)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("console", rest, 0, 0, ""); err != nil {
		return err
	}
	token := os.Getenv(EnvConsoleToken)
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, espg.Migrations); err != nil {
		return err
	}
	var runner ProjectionRunner
	if a.opts.Projections != nil {
		if runner, err = a.opts.Projections(ctx, env); err != nil {
			return fmt.Errorf("building the application's projections: %w", err)
		}
	}
	var engines []*saga.Engine
	if a.opts.Sagas != nil {
		if engines, err = a.opts.Sagas(ctx, env); err != nil {
			return fmt.Errorf("building the application's sagas: %w", err)
		}
	}
	src, err := consolepg.New(ctx, env.Pool, consolepg.Config{Schema: env.Schema, Projections: runner, Sagas: engines, Logger: a.opts.Logger})
	if err != nil {
		return err
	}
	defer src.Close()
	comps, err := src.Components(ctx)
	if err != nil {
		return err
	}
	cfg := console.Config{Events: src.Events(), Index: src, AdminToken: token, Title: a.opts.Name, Logger: a.opts.Logger}
	if comps.Projections || runner != nil {
		cfg.Projections = src
	}
	if comps.Sagas {
		cfg.Sagas = src
	}
	if comps.Relays {
		cfg.Relays = src
	}
	c, err := console.New(cfg)
	if err != nil {
		return usagef("%v (%s)", err, EnvConsoleToken)
	}
	defer c.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	mode := "read-only (set " + EnvConsoleToken + " to enable retry, skip and rebuild)"
	if token != "" {
		mode = "admin actions enabled by " + EnvConsoleToken
	}
	fmt.Fprintf(a.stderr, "console on http://%s/ for schema %s, %s; interrupt to stop\n", ln.Addr(), env.Schema, mode)
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(a.stderr, "warning: %s is reachable from other machines: anyone who reaches it reads the whole log\n", ln.Addr())
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("console: %w", err)
	case <-ctx.Done():
	}
	// Live pages hold connections open: close them (the browser
	// reconnects to the next console).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = c.Close()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	_ = srv.Close()
	return nil
}
