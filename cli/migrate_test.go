package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chronicle-go/chronicle/cli"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// Before: everything pending, and --check says so with exit code 4.
	golden(t, "migrate_status_before", e.normalise(e.ok("", "migrate", "status")))
	e.fails(cli.ExitNotMigrated, "", "migrate", "status", "--check")

	golden(t, "migrate", e.normalise(e.ok("", "migrate")))
	golden(t, "migrate_status", e.normalise(e.ok("", "migrate", "status", "--check")))

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
		comps = append(comps, r.Component)
		if r.Pending || r.AppliedAt == nil || r.Version < 1 || r.Name == "" {
			t.Errorf("migrate status --json row %+v: want applied", r)
		}
	}
	if got := strings.Join(comps, ","); got != "eventstore,snapshots,projections,sagas" {
		t.Errorf("components %s", got)
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
	if out.Schema != e.schema || len(out.Applied) != 1 || out.Applied[0].Component != "eventstore" || out.Applied[0].Version != 1 {
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
