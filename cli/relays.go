package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/chronicle-go/chronicle/relay"
	relaypg "github.com/chronicle-go/chronicle/relay/postgres"
)

func runRelay(ctx context.Context, a *app, args []string) error {
	sub, rest, err := a.subcommand("relay", args, "status", "parked", "retry", "skip")
	if err != nil {
		return err
	}
	switch sub {
	case "status":
		return runRelayStatus(ctx, a, rest)
	case "parked":
		return runRelayParked(ctx, a, rest)
	default:
		return runRelayResolve(ctx, a, sub, rest)
	}
}

// relayJSON is a relay in `relay status --json`.
type relayJSON struct {
	Name           string     `json:"name"`
	Checkpoint     string     `json:"checkpoint"`
	CheckpointAt   *time.Time `json:"checkpoint_at"`
	Head           string     `json:"head"`
	LagEvents      int        `json:"lag_events"`
	LagAtLeast     bool       `json:"lag_at_least"`
	LagSeconds     float64    `json:"lag_seconds"`
	Published      uint64     `json:"published"`
	Parked         int        `json:"parked"`
	Owned          bool       `json:"owned"`
	Owner          string     `json:"owner"`
	LastError      string     `json:"last_error"`
	UpdatedAt      *time.Time `json:"updated_at"`
	EventTypes     []string   `json:"event_types"`
	StreamPrefixes []string   `json:"stream_prefixes"`
}

func runRelayStatus(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("relay status", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, relaypg.Migrations); err != nil {
		return err
	}
	records, err := relaypg.ListStatus(ctx, env.Pool, env.Schema)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		var picked []relay.Record
		for _, n := range rest {
			i := slices.IndexFunc(records, func(r relay.Record) bool { return r.Name == n })
			if i < 0 {
				return fmt.Errorf("relay %q: %w", n, errNotFound)
			}
			picked = append(picked, records[i])
		}
		records = picked
	}
	all, err := relay.Describe(ctx, env.Events, records...)
	if err != nil {
		return err
	}
	if a.g.json {
		out := make([]relayJSON, 0, len(all))
		for _, s := range all {
			j := relayJSON{Name: s.Name, Checkpoint: s.Checkpoint.String(), CheckpointAt: timePtr(s.CheckpointAt),
				Head: s.Head.String(), LagEvents: s.LagEvents, LagAtLeast: s.LagAtLeast, LagSeconds: s.Lag.Seconds(),
				Published: s.Published, Parked: s.Parked, Owned: s.Owned, Owner: s.Owner, LastError: s.LastError,
				UpdatedAt: timePtr(s.UpdatedAt), EventTypes: s.Filter.EventTypes, StreamPrefixes: s.Filter.StreamPrefixes}
			if j.EventTypes == nil {
				j.EventTypes = []string{}
			}
			if j.StreamPrefixes == nil {
				j.StreamPrefixes = []string{}
			}
			out = append(out, j)
		}
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "NAME", "CHECKPOINT", "HEAD", "LAG", "LAG TIME", "PUBLISHED", "PARKED", "OWNED", "OWNER", "LAST ERROR")
	for _, s := range all {
		lag := strconv.Itoa(s.LagEvents)
		if s.LagAtLeast {
			lag += "+"
		}
		t.row(s.Name, formatPosition(s.Checkpoint), formatPosition(s.Head), lag, s.Lag.Round(time.Millisecond).String(),
			strconv.FormatUint(s.Published, 10), strconv.Itoa(s.Parked), yesNo(s.Owned), s.Owner, s.LastError)
	}
	return t.flush()
}

// relayParkedJSON is a message in `relay parked --json`.
type relayParkedJSON struct {
	Relay string `json:"relay"`
	// Kind is "message" (the broker refused it, or the mapping failed) or
	// "unreadable" (the store could not return the event: ID is the event
	// ID, Subject its stream, Version its version).
	Kind     string    `json:"kind"`
	ID       string    `json:"id"`
	Position string    `json:"position"`
	Type     string    `json:"type"`
	Subject  string    `json:"subject"`
	Version  uint64    `json:"stream_version,omitempty"`
	State    string    `json:"state"`
	Attempts int       `json:"attempts"`
	ParkedAt time.Time `json:"parked_at"`
	Error    string    `json:"error"`
}

func runRelayParked(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("relay parked", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("relay parked", rest, 1, 1, "RELAY"); err != nil {
		return err
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, relaypg.Migrations); err != nil {
		return err
	}
	list, err := relaypg.Parked(ctx, env.Pool, env.Schema, rest[0])
	if err != nil {
		return relayErr(err)
	}
	if a.g.json {
		out := make([]relayParkedJSON, 0, len(list))
		for _, p := range list {
			out = append(out, relayParkedJSON{Relay: p.Relay, Kind: string(p.Kind), ID: p.Message.ID, Position: p.Position.String(),
				Type: p.Message.Type, Subject: p.Message.Subject, Version: p.Message.StreamVersion, State: string(p.State), Attempts: p.Attempts, ParkedAt: p.ParkedAt.UTC(), Error: p.Error})
		}
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "ID", "KIND", "POSITION", "TYPE", "SUBJECT", "STATE", "ATTEMPTS", "PARKED", "ERROR")
	for _, p := range list {
		subject := p.Message.Subject
		if p.Kind == relay.KindUnreadable {
			subject += "@" + strconv.FormatUint(p.Message.StreamVersion, 10)
		}
		t.row(p.Message.ID, string(p.Kind), p.Position.String(), p.Message.Type, subject, string(p.State),
			strconv.Itoa(p.Attempts), formatTime(p.ParkedAt), p.Error)
	}
	return t.flush()
}

func relayErr(err error) error {
	if errorsIs(err, relay.ErrUnknownRelay) {
		return fmt.Errorf("%w: %w", errNotFound, err)
	}
	return err
}

func runRelayResolve(ctx context.Context, a *app, sub string, args []string) error {
	fs := newFlagSet("relay "+sub, &a.g, a.stderr)
	all := fs.Bool("all", false, "every parked message of the relay")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("relay "+sub, rest, 1, 2, "RELAY (ID | --all)"); err != nil {
		return err
	}
	id := ""
	if len(rest) == 2 {
		id = rest[1]
	}
	if (id == "") == !*all {
		return usagef("relay %s: name one parked message's ID, or pass --all", sub)
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, relaypg.Migrations); err != nil {
		return err
	}
	fn := relaypg.Retry
	if sub == "skip" {
		fn = relaypg.Skip
	}
	n, err := fn(ctx, env.Pool, env.Schema, rest[0], id)
	if err != nil {
		return relayErr(err)
	}
	if id != "" && n == 0 {
		return fmt.Errorf("relay %q has no parked message %s: %w", rest[0], id, errNotFound)
	}
	if a.g.json {
		return writeJSON(a.stdout, map[string]any{"relay": rest[0], "action": sub, "messages": n})
	}
	verb := "marked for retry (the relay's owner publishes them again; an unreadable event is read again first)"
	if sub == "skip" {
		verb = "skipped (forgotten, never published)"
	}
	_, err = fmt.Fprintf(a.stdout, "relay %s: %d parked message(s) %s\n", rest[0], n, verb)
	return err
}
