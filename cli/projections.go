package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chronicle-go/chronicle/projection"
	projpg "github.com/chronicle-go/chronicle/projection/postgres"
)

func runProjections(ctx context.Context, a *app, args []string) error {
	sub, rest, err := a.subcommand("projections", args, "list", "status", "rebuild", "skip", "retry")
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		return runProjectionsList(ctx, a, rest)
	case "status":
		return runProjectionsStatus(ctx, a, rest)
	case "rebuild":
		return runProjectionsRebuild(ctx, a, rest)
	default:
		return runProjectionsResume(ctx, a, sub, rest)
	}
}

// projections is the source of projection records: the application's
// runner when one is registered, else the checkpoint table.
type projections struct {
	env    *Env
	runner ProjectionRunner
}

func (a *app) projections(ctx context.Context) (*projections, error) {
	env, err := a.open(ctx)
	if err != nil {
		return nil, err
	}
	p := &projections{env: env}
	if a.opts.Projections == nil {
		if err := a.requireMigrated(ctx, env, projpg.Migrations); err != nil {
			return nil, err
		}
	} else {
		if p.runner, err = a.opts.Projections(ctx, env); err != nil {
			return nil, fmt.Errorf("building the application's projections: %w", err)
		}
	}
	return p, nil
}

// statuses returns every projection's status; withLag adds the head and
// the lag (the runner always does).
func (p *projections) statuses(ctx context.Context, withLag bool) ([]projection.Status, error) {
	if p.runner != nil {
		return p.runner.Status(ctx)
	}
	records, err := projpg.ListStatus(ctx, p.env.Pool, p.env.Schema)
	if err != nil {
		return nil, err
	}
	if !withLag {
		out := make([]projection.Status, len(records))
		for i, r := range records {
			out[i] = projection.Status{Record: r}
		}
		return out, nil
	}
	return projection.Describe(ctx, p.env.Events, records...)
}

// pick keeps the statuses named in names (all for none), failing for an
// unknown name.
func pick(all []projection.Status, names []string) ([]projection.Status, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []projection.Status
	for _, n := range names {
		i := slices.IndexFunc(all, func(s projection.Status) bool { return s.Name == n })
		if i < 0 {
			return nil, unknownProjection(n, all)
		}
		out = append(out, all[i])
	}
	return out, nil
}

// projectionJSON is a projection in `projections list|status --json`; the
// head and lag fields are set by status only.
type projectionJSON struct {
	Name           string       `json:"name"`
	State          string       `json:"state"`
	Checkpoint     string       `json:"checkpoint"`
	CheckpointAt   *time.Time   `json:"checkpoint_at"`
	Handled        uint64       `json:"handled"`
	Owned          bool         `json:"owned"`
	Owner          string       `json:"owner"`
	UpdatedAt      *time.Time   `json:"updated_at"`
	LastError      string       `json:"last_error"`
	Failure        *failureJSON `json:"failure"`
	EventTypes     []string     `json:"event_types"`
	StreamPrefixes []string     `json:"stream_prefixes"`
	Head           *string      `json:"head,omitempty"`
	LagEvents      *int         `json:"lag_events,omitempty"`
	LagAtLeast     *bool        `json:"lag_at_least,omitempty"`
	LagSeconds     *float64     `json:"lag_seconds,omitempty"`
	Tip            *string      `json:"tip,omitempty"`
	HeldBy         *holderJSON  `json:"held_by,omitempty"`
}

// holderJSON is the transaction that holds the store's horizon back.
type holderJSON struct {
	PID           int32      `json:"pid"`
	Database      string     `json:"database"`
	TransactionID uint64     `json:"transaction_id"`
	Application   string     `json:"application"`
	State         string     `json:"state"`
	Since         *time.Time `json:"since"`
}

type failureJSON struct {
	Position   string    `json:"position"`
	EventID    string    `json:"event_id"`
	Stream     string    `json:"stream"`
	Version    uint64    `json:"version"`
	Type       string    `json:"type"`
	RecordedAt time.Time `json:"recorded_at"`
	Error      string    `json:"error"`
	Attempts   int       `json:"attempts"`
	At         time.Time `json:"at"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func toProjectionJSON(s projection.Status, withLag bool) projectionJSON {
	out := projectionJSON{
		Name: s.Name, State: string(s.State), Checkpoint: s.Checkpoint.String(), CheckpointAt: timePtr(s.CheckpointAt),
		Handled: s.Handled, Owned: s.Owned, Owner: s.Owner, UpdatedAt: timePtr(s.UpdatedAt), LastError: s.LastError,
		EventTypes: s.Filter.EventTypes, StreamPrefixes: s.Filter.StreamPrefixes,
	}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	if out.StreamPrefixes == nil {
		out.StreamPrefixes = []string{}
	}
	if f := s.Failure; f != nil {
		out.Failure = &failureJSON{Position: f.Position.String(), EventID: f.EventID.String(), Stream: f.Stream,
			Version: f.Version, Type: f.Type, RecordedAt: f.RecordedAt.UTC(), Error: f.Error, Attempts: f.Attempts, At: f.At.UTC()}
	}
	if withLag {
		head, lag, atLeast, secs, tip := s.Head.String(), s.LagEvents, s.LagAtLeast, s.Lag.Seconds(), s.Tip.String()
		out.Head, out.LagEvents, out.LagAtLeast, out.LagSeconds, out.Tip = &head, &lag, &atLeast, &secs, &tip
		if h := s.HeldBy; h != nil {
			out.HeldBy = &holderJSON{PID: h.PID, Database: h.Database, TransactionID: h.TransactionID,
				Application: h.Application, State: h.State, Since: timePtr(h.Since)}
		}
	}
	return out
}

func lagEvents(s projection.Status) string {
	if s.LagAtLeast {
		return strconv.Itoa(s.LagEvents) + "+"
	}
	return strconv.Itoa(s.LagEvents)
}

func runProjectionsList(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("projections list", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("projections list", rest, 0, 0, ""); err != nil {
		return err
	}
	p, err := a.projections(ctx)
	if err != nil {
		return err
	}
	all, err := p.statuses(ctx, false)
	if err != nil {
		return err
	}
	if a.g.json {
		out := make([]projectionJSON, 0, len(all))
		for _, s := range all {
			out = append(out, toProjectionJSON(s, false))
		}
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "NAME", "STATE", "CHECKPOINT", "HANDLED", "OWNED", "OWNER", "UPDATED")
	for _, s := range all {
		t.row(s.Name, string(s.State), formatPosition(s.Checkpoint), strconv.FormatUint(s.Handled, 10),
			yesNo(s.Owned), s.Owner, formatTime(s.UpdatedAt))
	}
	return t.flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func runProjectionsStatus(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("projections status", &a.g, a.stderr)
	names, err := parse(fs, args)
	if err != nil {
		return err
	}
	p, err := a.projections(ctx)
	if err != nil {
		return err
	}
	all, err := p.statuses(ctx, true)
	if err != nil {
		return err
	}
	sel, err := pick(all, names)
	if err != nil {
		return err
	}
	if a.g.json {
		out := make([]projectionJSON, 0, len(sel))
		for _, s := range sel {
			out = append(out, toProjectionJSON(s, true))
		}
		return writeJSON(a.stdout, out)
	}
	if len(names) == 0 {
		t := newTable(a.stdout, "NAME", "STATE", "CHECKPOINT", "HEAD", "LAG", "LAG TIME", "LAST ERROR")
		for _, s := range sel {
			t.row(s.Name, string(s.State), formatPosition(s.Checkpoint), formatPosition(s.Head),
				lagEvents(s), formatDuration(s.Lag), s.LastError)
		}
		return t.flush()
	}
	for i, s := range sel {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		t := newTable(a.stdout, "FIELD", "VALUE")
		t.row("name", s.Name)
		t.row("state", string(s.State))
		t.row("checkpoint", formatPosition(s.Checkpoint)+" (recorded "+formatTime(s.CheckpointAt)+")")
		t.row("head", formatPosition(s.Head))
		if s.HeldBy != nil {
			t.row("horizon", fmt.Sprintf("events up to %s wait behind %s", formatPosition(s.Tip), s.HeldBy))
		}
		t.row("lag", lagEvents(s)+" events, "+formatDuration(s.Lag))
		t.row("handled", strconv.FormatUint(s.Handled, 10))
		t.row("owned", yesNo(s.Owned)+" (last owner "+s.Owner+")")
		t.row("event types", fmt.Sprint(s.Filter.EventTypes))
		if len(s.Filter.StreamPrefixes) > 0 {
			t.row("stream prefixes", fmt.Sprint(s.Filter.StreamPrefixes))
		}
		t.row("updated", formatTime(s.UpdatedAt))
		if s.LastError != "" {
			t.row("last error", s.LastError)
		}
		if f := s.Failure; f != nil {
			t.row("stopped at", fmt.Sprintf("%s@%d %s (position %s, id %s)", f.Stream, f.Version, f.Type, f.Position, f.EventID))
			t.row("failure", fmt.Sprintf("%s (%d attempts, last at %s)", f.Error, f.Attempts, formatTime(f.At)))
			t.row("repair", fmt.Sprintf("`%s projections retry %s` or `%s projections skip %s`", a.opts.Name, s.Name, a.opts.Name, s.Name))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}

// runProjectionsResume is `projections skip NAME` and `projections retry
// NAME`.
func runProjectionsResume(ctx context.Context, a *app, sub string, args []string) error {
	fs := newFlagSet("projections "+sub, &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("projections "+sub, rest, 1, 1, "NAME"); err != nil {
		return err
	}
	name := rest[0]
	if err := projection.ValidateName(name); err != nil {
		return usagef("%v", err)
	}
	p, err := a.projections(ctx)
	if err != nil {
		return err
	}
	all, err := p.statuses(ctx, false)
	if err != nil {
		return err
	}
	sel, err := pick(all, []string{name})
	if err != nil {
		return err
	}
	before := sel[0]
	switch {
	case sub == "skip" && p.runner != nil:
		err = p.runner.Skip(ctx, name)
	case sub == "skip":
		err = projpg.Skip(ctx, p.env.Pool, p.env.Schema, name)
	case p.runner != nil:
		err = p.runner.Retry(ctx, name)
	default:
		err = projpg.Retry(ctx, p.env.Pool, p.env.Schema, name)
	}
	if err != nil {
		return fmt.Errorf("projection %q: %w", name, err)
	}
	var f failureJSON
	if before.Failure != nil {
		f = *toProjectionJSON(before, false).Failure
	}
	if a.g.json {
		return writeJSON(a.stdout, struct {
			Projection string      `json:"projection"`
			Action     string      `json:"action"`
			Event      failureJSON `json:"event"`
		}{name, sub, f})
	}
	verb := "skipped"
	if sub == "retry" {
		verb = "will retry"
	}
	fmt.Fprintf(a.stdout, "projection %s %s %s@%d %s (position %s); its owner resumes within its poll interval\n",
		name, verb, f.Stream, f.Version, f.Type, f.Position)
	return nil
}

// unknownProjection is the not-found error for name, listing the
// projections that have a checkpoint.
func unknownProjection(name string, all []projection.Status) error {
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
	}
	there := "no projection has a checkpoint yet"
	if len(names) > 0 {
		there = "projections with a checkpoint: " + strings.Join(names, ", ")
	}
	return fmt.Errorf("projection %q: %w (%s)", name, projection.ErrUnknownProjection, there)
}
