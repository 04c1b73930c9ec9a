package cli_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	aggpg "github.com/chronicle-go/chronicle/aggregate/postgres"
	"github.com/chronicle-go/chronicle/cli"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// sets are the components' migration sets, in the order migrate applies
// them; the expected output is built from them, so a component adding a
// migration does not break this test.
var sets = []pgmigrate.Set{espg.Migrations, aggpg.Migrations, projpg.Migrations, sagapg.Migrations, relaypg.Migrations, inboxpg.Migrations}

func TestMigrate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// Before: everything pending, and --check says so with exit code 4.
	before, after, applied := "COMPONENT  VERSION  NAME  APPLIED\n", "COMPONENT  VERSION  NAME  APPLIED\n", ""
	n := 0
	for _, set := range sets {
		if len(set.Migrations) == 0 {
			t.Fatalf("component %s has no migrations", set.Component)
		}
		for _, m := range set.Migrations {
			before += fmt.Sprintf("%s  %04d  %s  pending\n", set.Component, m.Version, m.Name)
			after += fmt.Sprintf("%s  %04d  %s  <TIME>\n", set.Component, m.Version, m.Name)
			applied += fmt.Sprintf("applied %s %04d_%s\n", set.Component, m.Version, m.Name)
			n++
		}
	}
	applied += fmt.Sprintf("schema <SCHEMA> is up to date (%d migration(s) applied)\n", n)
	if got := e.normalise(e.ok("", "migrate", "status")); got != before {
		t.Errorf("migrate status before:\n%s\nwant:\n%s", got, before)
	}
	e.fails(cli.ExitNotMigrated, "", "migrate", "status", "--check")

	if got := e.normalise(e.ok("", "migrate")); got != applied {
		t.Errorf("migrate:\n%s\nwant:\n%s", got, applied)
	}
	if got := e.normalise(e.ok("", "migrate", "status", "--check")); got != after {
		t.Errorf("migrate status after:\n%s\nwant:\n%s", got, after)
	}

	// Again: nothing to do.
	if got := e.normalise(e.ok("", "migrate", "up")); got != "schema <SCHEMA> is up to date\n" {
		t.Errorf("second migrate printed %q", got)
	}

	var rows []struct {
		Component string  `json:"component"`
		Version   int     `json:"version"`
		Name      string  `json:"name"`
		AppliedAt *string `json:"applied_at"`
		Pending   bool    `json:"pending"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "migrate", "status", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	var comps []string
	for _, r := range rows {
		if !slices.Contains(comps, r.Component) {
			comps = append(comps, r.Component)
		}
		if r.Pending || r.AppliedAt == nil || r.Version < 1 || r.Name == "" {
			t.Errorf("migrate status --json row %+v: want applied", r)
		}
	}
	if got := strings.Join(comps, ","); got != "eventstore,snapshots,projections,sagas,relays,inbox" || len(rows) != n {
		t.Errorf("components %s, %d rows, want %d", got, len(rows), n)
	}
}

func TestMigrateComponents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var out struct {
		Schema  string `json:"schema"`
		Applied []struct {
			Component string `json:"component"`
			Version   int    `json:"version"`
		} `json:"applied"`
	}
	if err := json.Unmarshal([]byte(e.ok("", "migrate", "--components", "eventstore", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	if out.Schema != e.schema || len(out.Applied) != len(espg.Migrations.Migrations) || out.Applied[0].Component != "eventstore" || out.Applied[0].Version != 1 {
		t.Fatalf("migrate --components eventstore --json: %+v", out)
	}
	// The event store works; the sagas are still missing and say so.
	e.ok("", "streams", "list")
	msg := e.fails(cli.ExitNotMigrated, "", "sagas", "list", "fulfilment")
	if !strings.Contains(msg, "sagas") || !strings.Contains(msg, "chronicle migrate --schema "+e.schema) {
		t.Errorf("not-migrated message %q should name the component and the command to run", msg)
	}
	e.fails(cli.ExitUsage, "", "migrate", "--components", "eventstore,nope")
}
