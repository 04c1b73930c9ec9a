package cli

import (
	"context"
	"fmt"
	"strconv"

	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

// storeStatusJSON is `status --json`.
type storeStatusJSON struct {
	Schema            string           `json:"schema"`
	Head              string           `json:"head"`
	Horizon           uint64           `json:"horizon"`
	HorizonAgeSeconds float64          `json:"horizon_age_seconds"`
	HorizonHolder     int32            `json:"horizon_holder_pid"`
	Epoch             uint64           `json:"epoch"`
	NeedsReanchor     bool             `json:"needs_reanchor"`
	Migrations        []migrationState `json:"migrations"`
}

func runStatus(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("status", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("status", rest, 0, 0, ""); err != nil {
		return err
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, espg.Migrations); err != nil {
		return err
	}
	st, err := env.Events.Status(ctx)
	if err != nil {
		return err
	}
	out := storeStatusJSON{
		Schema: st.Schema, Head: st.Head.String(), Horizon: st.Horizon,
		HorizonAgeSeconds: st.HorizonAge.Seconds(), HorizonHolder: st.HorizonHolder,
		Epoch: st.Epoch, NeedsReanchor: st.NeedsReanchor, Migrations: []migrationState{},
	}
	for _, m := range st.Migrations {
		ms := migrationState{Component: m.Component, Version: m.Version, Name: m.Name, Pending: m.Pending()}
		if !m.Pending() {
			at := m.AppliedAt.UTC()
			ms.AppliedAt = &at
		}
		out.Migrations = append(out.Migrations, ms)
	}
	if a.g.json {
		return writeJSON(a.stdout, out)
	}
	holder := "none"
	if st.HorizonAge > 0 {
		holder = "backend pid " + strconv.Itoa(int(st.HorizonHolder))
		if st.HorizonHolder == 0 {
			holder = "a prepared transaction"
		}
	}
	reanchor := "no"
	if st.NeedsReanchor {
		reanchor = fmt.Sprintf("YES: the database was restored; every append is refused until you run `%s reanchor --schema %s`", a.opts.Name, st.Schema)
	}
	t := newTable(a.stdout, "FIELD", "VALUE")
	t.row("schema", st.Schema)
	t.row("head", formatPosition(st.Head))
	t.row("horizon", strconv.FormatUint(st.Horizon, 10))
	t.row("horizon age", formatDuration(st.HorizonAge))
	t.row("horizon held by", holder)
	t.row("epoch offset", strconv.FormatUint(st.Epoch, 10))
	t.row("needs reanchor", reanchor)
	for _, m := range out.Migrations {
		at := "pending"
		if m.AppliedAt != nil {
			at = "applied " + formatTime(*m.AppliedAt)
		}
		t.row("migration", fmt.Sprintf("%s %04d_%s %s", m.Component, m.Version, m.Name, at))
	}
	return t.flush()
}

func runReanchor(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("reanchor", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("reanchor", rest, 0, 0, ""); err != nil {
		return err
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, espg.Migrations); err != nil {
		return err
	}
	before, after, err := env.Events.Reanchor(ctx)
	if err != nil {
		return err
	}
	if a.g.json {
		return writeJSON(a.stdout, struct {
			Schema  string `json:"schema"`
			Before  uint64 `json:"epoch_before"`
			After   uint64 `json:"epoch_after"`
			Changed bool   `json:"changed"`
		}{env.Schema, before, after, before != after})
	}
	if before == after {
		fmt.Fprintf(a.stdout, "schema %s: transaction ids already sort after every stored event (epoch offset %d); nothing to do\n", env.Schema, after)
		return nil
	}
	fmt.Fprintf(a.stdout, "schema %s: epoch offset raised from %d to %d; new events sort after every stored one\n", env.Schema, before, after)
	return nil
}
