package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/chronicle-go/chronicle/console"
	consolepg "github.com/chronicle-go/chronicle/console/postgres"
	"github.com/chronicle-go/chronicle/saga"

	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
	pgbackend "github.com/chronicle-go/chronicle/examples/ecommerce/scenario/postgres"
)

// envConsoleToken enables the console's actions (retry, skip, rebuild),
// as for `chronicle console`.
const envConsoleToken = "CHRONICLE_CONSOLE_TOKEN"

// consoleServer serves the web console of the example's application: it
// listens from the start (so a bad address fails before the run) and
// serves once the application is up, during the run and after it, until
// the process is interrupted.
type consoleServer struct {
	ln  net.Listener
	pg  *pgbackend.Backend // nil on the memory backend
	srv *http.Server
	con *console.Console
	src *consolepg.Source
}

func listenConsole(addr string, pg *pgbackend.Backend) (*consoleServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-console: %w", err)
	}
	return &consoleServer{ln: ln, pg: pg}, nil
}

// start builds the console over app and serves it.
func (s *consoleServer) start(ctx context.Context, app *scenario.App) error {
	cfg := console.Config{Title: "ecommerce", AdminToken: os.Getenv(envConsoleToken), Projections: app.ReadModels.Runner()}
	if s.pg != nil {
		src, err := consolepg.New(ctx, s.pg.Pool(), consolepg.Config{Schema: s.pg.Schema, Projections: app.ReadModels.Runner(),
			Sagas: []*saga.Engine{app.Fulfilment, app.Carriers}})
		if err != nil {
			return err
		}
		// The correlation index: following an order stays fast on a
		// large log.
		if err := src.Migrate(ctx); err != nil {
			_ = src.Close()
			return err
		}
		s.src = src
		cfg.Events, cfg.Index, cfg.Projections, cfg.Sagas = src.Events(), src, src, src
		if comps, err := src.Components(ctx); err == nil && comps.Relays {
			cfg.Relays = src // a run that relays to a broker
		}
	} else {
		cfg.Events, cfg.Sagas = app.Backend.Events, console.Engines(app.Fulfilment, app.Carriers)
	}
	con, err := console.New(cfg)
	if err != nil {
		if s.src != nil {
			_ = s.src.Close()
		}
		return fmt.Errorf("-console: %w (%s)", err, envConsoleToken)
	}
	s.con = con
	s.srv = &http.Server{Handler: con, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = s.srv.Serve(s.ln) }()
	return nil
}

// serve tells where the console is and serves until ctx ends.
func (s *consoleServer) serve(ctx context.Context, stderr io.Writer) {
	mode := "read-only (set " + envConsoleToken + " to retry, skip and rebuild)"
	if os.Getenv(envConsoleToken) != "" {
		mode = "admin actions enabled by " + envConsoleToken
	}
	fmt.Fprintf(stderr, "ecommerce: console on http://%s/, %s; interrupt to stop\n", s.ln.Addr(), mode)
	<-ctx.Done()
}

func (s *consoleServer) close() {
	if s.con != nil {
		_ = s.con.Close()
	}
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			_ = s.srv.Close()
		}
	} else {
		_ = s.ln.Close()
	}
	if s.src != nil {
		_ = s.src.Close()
	}
}
