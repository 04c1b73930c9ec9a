package cli_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chronicle-go/chronicle/cli"
	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/pgmigrate"
	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

// bankMigrations is an application's own component: its read model's
// table.
var bankMigrations = pgmigrate.MustLoad("bank", fstest.MapFS{
	"m/0001_balances.sql": {Data: []byte(`CREATE TABLE {{schema}}.balances (account text PRIMARY KEY, deposits bigint NOT NULL)`)},
}, "m")

// bankOptions embeds a projection that names its table unqualified, as an
// application does on its own connections (whose search_path is its
// schema); with migrations, the CLI knows the table's component.
func bankOptions(migrations bool) cli.Options {
	p := projection.New[*projpg.Tx]("balances", nil)
	p.Handle("Deposited", projection.HandlerFunc[*projpg.Tx](func(ctx context.Context, tx *projpg.Tx, e eventstore.RecordedEvent) error {
		tx.Queue(`INSERT INTO balances (account, deposits) VALUES ($1, 1)
			ON CONFLICT (account) DO UPDATE SET deposits = balances.deposits + 1`, e.StreamID)
		return nil
	}))
	p.OnReset(projpg.Truncate("balances"))
	opts := cli.Options{Name: "bankctl", Projections: func(ctx context.Context, env *cli.Env) (cli.ProjectionRunner, error) {
		cps, err := projpg.New(env.Pool, projpg.Config{Schema: env.Schema})
		if err != nil {
			return nil, err
		}
		return projection.NewRunner(env.Events, cps, projection.Config{}, p)
	}}
	if migrations {
		opts.Migrations = []pgmigrate.Set{bankMigrations}
	}
	return opts
}

// The embedded CLI sees the application's tables (the schema is on its
// connections' search_path), tells a missing table of the application's
// from chronicle's tables not migrated, and migrates the application's
// component beside chronicle's.
func TestApplicationTables(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	e.ok(`{"type": "Deposited", "data": {"n": 1}}{"type": "Deposited", "data": {"n": 2}}`, "append", "account-a", "--expected", "no-stream")
	e.ok(`{"type": "Deposited", "data": {"n": 3}}`, "append", "account-b", "--expected", "no-stream")

	// Without its migrations the CLI cannot know the table: it says it is
	// the application's, not that chronicle is not migrated.
	e.opts = bankOptions(false)
	msg := e.fails(cli.ExitError, "", "projections", "rebuild", "balances")
	for _, want := range []string{`table "balances" does not exist in schema "` + e.schema + `"`, "not one of chronicle's tables", "application's migrations"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing application table: stderr %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "is not migrated") {
		t.Errorf("missing application table reported as chronicle not migrated: %q", msg)
	}

	// With them, the table's component is named, and migrate applies it.
	e.opts = bankOptions(true)
	msg = e.fails(cli.ExitNotMigrated, "", "projections", "rebuild", "balances")
	if !strings.Contains(msg, `(bank: relation "balances" does not exist)`) || !strings.Contains(msg, "run `bankctl migrate --schema "+e.schema+"`") {
		t.Errorf("unmigrated application component: stderr %q", msg)
	}
	e.fails(cli.ExitNotMigrated, "", "migrate", "status", "--components", "bank", "--check")
	e.ok("", "migrate", "status", "--components", "projections,eventstore", "--check")
	if got := e.normalise(e.ok("", "migrate", "--components", "bank")); got != "applied bank 0001_balances\nschema <SCHEMA> is up to date (1 migration(s) applied)\n" {
		t.Errorf("migrate --components bank:\n%s", got)
	}
	if got := e.normalise(e.ok("", "migrate", "status", "--components", "bank", "--check")); got != "COMPONENT  VERSION  NAME  APPLIED\nbank  0001  balances  <TIME>\n" {
		t.Errorf("migrate status --components bank:\n%s", got)
	}
	if got := e.ok("", "migrate", "status"); !strings.Contains(got, "sagas") || !strings.Contains(got, "bank ") {
		t.Errorf("migrate status lists chronicle's and the application's components:\n%s", got)
	}

	// The rebuild's unqualified INSERT INTO balances lands in the schema.
	if got := e.ok("", "projections", "rebuild", "balances"); !strings.Contains(got, "rebuilt balances: 3 events") {
		t.Errorf("rebuild: %q", got)
	}
	pool, err := pgxpool.New(t.Context(), e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var accounts, deposits int
	if err := pool.QueryRow(t.Context(), `SELECT count(*), sum(deposits) FROM `+pgmigrate.Table(e.schema, "balances")).Scan(&accounts, &deposits); err != nil {
		t.Fatal(err)
	}
	if accounts != 2 || deposits != 3 {
		t.Errorf("balances after the rebuild: %d accounts, %d deposits; want 2 and 3", accounts, deposits)
	}

	// An unknown projection name is answered with the valid ones.
	if msg := e.fails(cli.ExitNotFound, "", "projections", "rebuild", "balance"); !strings.Contains(msg, `"balance" (this runner runs balances)`) {
		t.Errorf("rebuild of an unknown projection: %q", msg)
	}
	if msg := e.fails(cli.ExitNotFound, "", "projections", "status", "balance"); !strings.Contains(msg, "(projections with a checkpoint: balances)") {
		t.Errorf("status of an unknown projection: %q", msg)
	}

	// Two components of one name are refused.
	e.opts.Migrations = append(e.opts.Migrations, bankMigrations)
	e.fails(cli.ExitError, "", "migrate")
}

// A schema that holds none of chronicle's tables (a wrong --schema) is
// reported with the schemas that do hold them.
func TestWrongSchemaListsTheMigratedOnes(t *testing.T) {
	t.Parallel()
	e := migrated(t)
	for _, schema := range []string{"t_not_there_" + e.schema[len(e.schema)-12:], newEnv(t).schema} { // missing, empty
		wrong := &env{t: t, url: e.url, schema: schema}
		for _, args := range [][]string{{"streams", "list"}, {"projections", "list"}, {"sagas", "list"}, {"status"}} {
			msg := wrong.fails(cli.ExitNotMigrated, "", args...)
			if !strings.Contains(msg, "schemas that hold chronicle's tables: ") || !strings.Contains(msg, e.schema+" (eventstore, inbox, projections, relays, sagas, snapshots)") ||
				!strings.Contains(msg, "pass --schema NAME, or run `chronicle migrate --schema "+schema+"` to create them here") {
				t.Errorf("%s %v: stderr %q", schema, args, msg)
			}
		}
		r := wrong.run("", "migrate", "status")
		if r.code != cli.ExitOK || !strings.Contains(r.stderr, `schema "`+schema+`" holds none of these components; schemas that hold chronicle's tables: `) ||
			!strings.Contains(r.stderr, e.schema+" (") {
			t.Errorf("migrate status on %s: exit %d, stderr %q", schema, r.code, r.stderr)
		}
	}
	// A migrated schema lacking one component is not told about the others.
	part := newEnv(t)
	part.ok("", "migrate", "--components", "eventstore")
	if msg := part.fails(cli.ExitNotMigrated, "", "sagas", "list"); strings.Contains(msg, "schemas that hold") {
		t.Errorf("partly migrated schema: %q", msg)
	}
}
