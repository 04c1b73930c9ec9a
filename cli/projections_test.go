package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// app is an application's projections: two read models counting orders
// per stream, whose handlers fail on a "poison" order while poison is set.
type app struct {
	schema string
	poison atomic.Bool
}

func (a *app) table(name string) string { return pgmigrate.Table(a.schema, name) }

func (a *app) projection(name string) *projection.Projection[*projpg.Tx] {
	p := projection.New[*projpg.Tx](name, nil)
	p.StreamPrefixes("order-")
	p.Handle("OrderPlaced", projection.HandlerFunc[*projpg.Tx](func(ctx context.Context, tx *projpg.Tx, e eventstore.RecordedEvent) error {
		if a.poison.Load() && strings.Contains(string(e.Data), "poison") {
			return errors.New("cannot handle a poison order")
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+a.table(name)+` (stream) VALUES ($1)`, e.StreamID)
		return err
	}))
	p.OnReset(projpg.Truncate(a.schema + "." + name))
	return p
}

func (a *app) runner(pool *pgxpool.Pool, events eventstore.Store) (*projection.Runner[*projpg.Tx], error) {
	cps, err := projpg.New(pool, projpg.Config{Schema: a.schema, Owner: "test-app", ClaimInterval: 50 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	return projection.NewRunner(events, cps, projection.Config{
		MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond, PollInterval: 20 * time.Millisecond,
	}, a.projection("counts_retry"), a.projection("counts_skip"))
}

// options embeds the application's projections in the CLI.
func (a *app) options() cli.Options {
	return cli.Options{Name: "shopctl", Projections: func(ctx context.Context, env *cli.Env) (cli.ProjectionRunner, error) {
		return a.runner(env.Pool, env.Events)
	}}
}

type projectionJSON struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	Checkpoint string `json:"checkpoint"`
	Handled    uint64 `json:"handled"`
	Owned      bool   `json:"owned"`
	Owner      string `json:"owner"`
	LastError  string `json:"last_error"`
	Failure    *struct {
		Stream  string `json:"stream"`
		Version uint64 `json:"version"`
		Type    string `json:"type"`
		Error   string `json:"error"`
	} `json:"failure"`
	EventTypes []string `json:"event_types"`
	Head       *string  `json:"head"`
	LagEvents  *int     `json:"lag_events"`
}

func (e *env) projections(args ...string) []projectionJSON {
	e.t.Helper()
	var out []projectionJSON
	if err := json.Unmarshal([]byte(e.ok("", append(args, "--json")...)), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) projectionNamed(name string) projectionJSON {
	e.t.Helper()
	list := e.projections("projections", "status", name)
	if len(list) != 1 || list[0].Name != name {
		e.t.Fatalf("projections status %s: %+v", name, list)
	}
	return list[0]
}

func (e *env) rows(table string) int {
	e.t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgmigrate.Table(e.schema, table)).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestProjections(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	a := &app{schema: e.schema}
	a.poison.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, name := range []string{"counts_retry", "counts_skip"} {
		if _, err := pool.Exec(ctx, `CREATE TABLE `+a.table(name)+` (stream text PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.ok("", "projections", "list"); got != "NAME  STATE  CHECKPOINT  HANDLED  OWNED  OWNER  UPDATED\n" {
		t.Errorf("projections list before any runner:\n%q", got)
	}

	e.ok(`{"type": "OrderPlaced", "data": {"n": 1}}`, "append", "order-1", "--expected", "no-stream")
	e.ok(`{"type": "OrderPlaced", "data": {"poison": true}}`, "append", "order-2", "--expected", "no-stream")
	e.ok(`{"type": "OrderPlaced", "data": {"n": 3}}{"type": "OrderNoted"}`, "append", "order-3", "--expected", "no-stream")
	e.ok(`{"type": "OrderPlaced", "data": {"n": 4}}`, "append", "cart-4", "--expected", "no-stream")

	// The application's service runs the projections.
	events, err := espg.New(pool, espg.Config{Schema: e.schema})
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	runner, err := a.runner(pool, events)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRunner := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- runner.Run(runCtx) }()

	// The generic binary sees both stop at the poison order.
	waitFor(t, "both projections to fail", func() bool {
		list := e.projections("projections", "list")
		return len(list) == 2 && list[0].State == "failed" && list[1].State == "failed"
	})
	golden(t, "projections_list_failed", e.normalise(e.ok("", "projections", "list")))
	p := e.projectionNamed("counts_skip")
	if p.Failure == nil || p.Failure.Stream != "order-2" || p.Failure.Version != 1 || p.Failure.Type != "OrderPlaced" ||
		!strings.Contains(p.Failure.Error, "poison") || p.Handled != 1 || !p.Owned || p.Owner != "test-app" ||
		p.Head == nil || p.LagEvents == nil || *p.LagEvents != 2 || strings.Join(p.EventTypes, ",") != "OrderPlaced" {
		t.Fatalf("status of a failed projection: %+v", p)
	}
	text := e.ok("", "projections", "status", "counts_skip")
	for _, want := range []string{"failed", "order-2@1 OrderPlaced", "cannot handle a poison order", "chronicle projections skip counts_skip"} {
		if !strings.Contains(text, want) {
			t.Errorf("projections status counts_skip should show %q:\n%s", want, text)
		}
	}

	// Skip one: it moves past the poison order without applying it.
	if got := e.normalise(e.ok("", "projections", "skip", "counts_skip")); !strings.Contains(got, "skipped order-2@1 OrderPlaced") {
		t.Errorf("skip printed %q", got)
	}
	waitFor(t, "counts_skip to catch up", func() bool {
		p := e.projectionNamed("counts_skip")
		return p.State == "running" && p.Handled == 2 && *p.LagEvents == 0 // the skipped order is not handled
	})
	if n := e.rows("counts_skip"); n != 2 {
		t.Errorf("counts_skip has %d rows, want 2 (order-1, order-3)", n)
	}
	// Retry the other once the poison is cured: it applies the order.
	a.poison.Store(false)
	e.ok("", "projections", "retry", "counts_retry", "--json")
	waitFor(t, "counts_retry to catch up", func() bool {
		p := e.projectionNamed("counts_retry")
		return p.State == "running" && p.Handled == 3 && *p.LagEvents == 0
	})
	if n := e.rows("counts_retry"); n != 3 {
		t.Errorf("counts_retry has %d rows, want 3", n)
	}
	// Neither is stopped now: skip and retry are conflicts.
	e.fails(cli.ExitConflict, "", "projections", "skip", "counts_skip")
	e.fails(cli.ExitConflict, "", "projections", "retry", "counts_retry")
	e.fails(cli.ExitNotFound, "", "projections", "skip", "nope")
	e.fails(cli.ExitNotFound, "", "projections", "status", "nope")
	e.fails(cli.ExitUsage, "", "projections", "rebuild", "counts_skip") // the generic binary has no code

	stopRunner()
	if err := <-ran; err != nil {
		t.Fatalf("runner: %v", err)
	}

	// The application's own binary rebuilds counts_skip: now it applies
	// the cured order too. Progress goes to stderr, a line at a time when
	// stderr is not a terminal.
	e.opts = a.options()
	r := e.run("", "projections", "rebuild", "counts_skip")
	if r.code != cli.ExitOK {
		t.Fatalf("rebuild: exit %d: %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "rebuilt counts_skip: 3 events in ") || !strings.Contains(r.stderr, "rebuild counts_skip: done, 3 events") {
		t.Errorf("rebuild printed %q, stderr %q", r.stdout, r.stderr)
	}
	if n := e.rows("counts_skip"); n != 3 {
		t.Errorf("after the rebuild counts_skip has %d rows, want 3", n)
	}
	var rebuilt struct {
		Projection string `json:"projection"`
		Events     uint64 `json:"events"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "projections", "rebuild", "counts_retry", "--json")), &rebuilt); err != nil {
		t.Fatal(err)
	}
	if rebuilt.Projection != "counts_retry" || rebuilt.Events != 3 {
		t.Errorf("rebuild --json: %+v", rebuilt)
	}
	// Status through the embedded runner matches the database.
	p = e.projectionNamed("counts_skip")
	if p.Handled != 3 || p.LastError != "" || *p.LagEvents != 0 {
		t.Errorf("after the rebuild: %+v", p)
	}
	r = e.run("", "projections", "rebuild", "nope")
	if r.code != cli.ExitNotFound || !strings.HasPrefix(r.stderr, "shopctl: ") {
		t.Errorf("rebuild of an unknown projection: exit %d, stderr %q", r.code, r.stderr)
	}
}
