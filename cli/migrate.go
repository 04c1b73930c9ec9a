package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	aggpg "github.com/chronicle-go/chronicle/aggregate/postgres"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
	inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
	"github.com/chronicle-go/chronicle/pgmigrate"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

// chronicleComponents lists the migration set of every component of
// chronicle, in the order `migrate` applies them.
func chronicleComponents() []pgmigrate.Set {
	return []pgmigrate.Set{espg.Migrations, aggpg.Migrations, projpg.Migrations, sagapg.Migrations, relaypg.Migrations, inboxpg.Migrations}
}

// components lists chronicle's components, then the application's
// (Options.Migrations).
func (a *app) components() []pgmigrate.Set {
	return append(chronicleComponents(), a.opts.Migrations...)
}

func (a *app) componentNames() []string {
	var names []string
	for _, c := range a.components() {
		names = append(names, c.Component)
	}
	return names
}

// selectComponents returns the components named in list (comma-separated),
// or all of them for an empty list.
func (a *app) selectComponents(list string) ([]pgmigrate.Set, error) {
	all := a.components()
	for i, c := range all {
		if slices.ContainsFunc(all[:i], func(p pgmigrate.Set) bool { return p.Component == c.Component }) {
			return nil, fmt.Errorf("Options.Migrations: component %q is defined twice", c.Component)
		}
	}
	if list == "" {
		return all, nil
	}
	var out []pgmigrate.Set
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(c pgmigrate.Set) bool { return c.Component == name })
		if i < 0 {
			return nil, usagef("--components: unknown component %q, want some of %s", name, strings.Join(a.componentNames(), ","))
		}
		if !slices.ContainsFunc(out, func(c pgmigrate.Set) bool { return c.Component == name }) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// migrationState is a row of `migrate status` and of `migrate`'s report.
type migrationState struct {
	Component string     `json:"component"`
	Version   int        `json:"version"`
	Name      string     `json:"name"`
	AppliedAt *time.Time `json:"applied_at"`
	Pending   bool       `json:"pending"`
}

func runMigrate(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 && args[0] == "status" {
		return runMigrateStatus(ctx, a, args[1:])
	}
	if len(args) > 0 && args[0] == "up" {
		args = args[1:]
	}
	fs := newFlagSet("migrate", &a.g, a.stderr)
	only := fs.String("components", "", "comma-separated components to migrate (default all: "+strings.Join(a.componentNames(), ",")+")")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("migrate", rest, 0, 0, ""); err != nil {
		return err
	}
	comps, err := a.selectComponents(*only)
	if err != nil {
		return err
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	ran, err := pgmigrate.Apply(ctx, env.Pool, env.Schema, comps...)
	var applied []migrationState
	for _, r := range ran {
		applied = append(applied, migrationState{Component: r.Component, Version: r.Version, Name: r.Name})
	}
	return a.reportMigrated(applied, err)
}

// reportMigrated prints what was applied, also when a later migration
// failed, and returns err.
func (a *app) reportMigrated(applied []migrationState, err error) error {
	if applied == nil {
		applied = []migrationState{}
	}
	if a.g.json {
		if err != nil {
			return err // the error goes to stderr; partial progress is in `migrate status`
		}
		return writeJSON(a.stdout, struct {
			Schema  string           `json:"schema"`
			Applied []migrationState `json:"applied"`
		}{a.g.schema, applied})
	}
	for _, m := range applied {
		fmt.Fprintf(a.stdout, "applied %s %04d_%s\n", m.Component, m.Version, m.Name)
	}
	if err == nil {
		if len(applied) == 0 {
			fmt.Fprintf(a.stdout, "schema %s is up to date\n", a.g.schema)
		} else {
			fmt.Fprintf(a.stdout, "schema %s is up to date (%d migration(s) applied)\n", a.g.schema, len(applied))
		}
	}
	return err
}

func runMigrateStatus(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("migrate status", &a.g, a.stderr)
	check := fs.Bool("check", false, "exit with code 4 when a migration is pending")
	only := fs.String("components", "", "comma-separated components to list and check (default all: "+strings.Join(a.componentNames(), ",")+")")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("migrate status", rest, 0, 0, ""); err != nil {
		return err
	}
	comps, err := a.selectComponents(*only)
	if err != nil {
		return err
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	states, err := pgmigrate.Status(ctx, env.Pool, env.Schema, comps...)
	if err != nil {
		return err
	}
	var rows []migrationState
	for _, st := range states {
		m := migrationState{Component: st.Component, Version: st.Version, Name: st.Name, Pending: st.Pending()}
		if !st.Pending() {
			at := st.AppliedAt.UTC()
			m.AppliedAt = &at
		}
		rows = append(rows, m)
	}
	pending := slices.ContainsFunc(rows, func(m migrationState) bool { return m.Pending })
	if a.g.json {
		if err := writeJSON(a.stdout, rows); err != nil {
			return err
		}
	} else {
		t := newTable(a.stdout, "COMPONENT", "VERSION", "NAME", "APPLIED")
		for _, m := range rows {
			version, name, at := fmt.Sprintf("%04d", m.Version), m.Name, "pending"
			if m.AppliedAt != nil {
				at = formatTime(*m.AppliedAt)
			}
			t.row(m.Component, version, name, at)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if !pending {
		return nil
	}
	if !slices.ContainsFunc(rows, func(m migrationState) bool { return !m.Pending }) {
		// Nothing applied here: the schema may be the wrong one.
		if others := a.migratedSchemas(ctx, env); others != "" {
			fmt.Fprintf(a.stderr, "%s: schema %q holds none of these components; %s\n", a.opts.Name, env.Schema, others)
		}
	}
	if *check {
		return &notMigratedError{prog: a.opts.Name, schema: env.Schema, detail: "migrations pending"}
	}
	return nil
}
