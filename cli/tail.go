package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runTail(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("tail", &a.g, a.stderr)
	var prefixes, types stringList
	fs.Var(&prefixes, "prefix", "only streams whose ID starts with this (repeatable)")
	fs.Var(&types, "type", "only events of this type (repeatable)")
	from := fs.String("from", "head", `where to start: "head" (new events only), "start" (the whole log) or a position commit/prepare`)
	limit := fs.Int("limit", 0, "stop after this many events (0: follow until interrupted)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("tail", rest, 0, 0, ""); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit must be 0 or more, got %d", *limit)
	}
	var start eventstore.Position
	fromHead := false
	switch *from {
	case "head", "":
		fromHead = true
	case "start":
	default:
		if start, err = eventstore.ParsePosition(*from); err != nil {
			return usagef("--from: want head, start or commit/prepare: %v", err)
		}
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, espg.Migrations); err != nil {
		return err
	}
	if fromHead {
		if start, err = env.Events.Head(ctx); err != nil {
			return err
		}
	}
	// Everything appended after this line sorts after start (Head is below
	// the horizon): nothing can be missed between the message and the
	// subscription.
	fmt.Fprintf(a.stderr, "following the log after %s (interrupt to stop)\n", formatPosition(start))
	filter := eventstore.Filter{StreamPrefixes: prefixes, EventTypes: types}
	n := 0
	for e, err := range env.Events.Subscribe(ctx, eventstore.SubscribeOptions{From: start, Filter: filter}) {
		if err != nil {
			if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				return nil // being stopped is how tail ends
			}
			return err
		}
		if a.g.json {
			if err := writeJSON(a.stdout, toEventJSON(e)); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(a.stdout, "%s  %s  %s@%d  %s  %s\n", formatTime(e.RecordedAt), e.Position,
				e.StreamID, e.Version, e.Type, compactData(e.Data))
		}
		if err := a.stdout.Flush(); err != nil {
			return err
		}
		if n++; *limit > 0 && n >= *limit {
			return nil
		}
	}
	return nil
}
