package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

func runStreams(ctx context.Context, a *app, args []string) error {
	sub, rest, err := a.subcommand("streams", args, "list", "read")
	if err != nil {
		return err
	}
	if sub == "list" {
		return runStreamsList(ctx, a, rest)
	}
	return runStreamsRead(ctx, a, rest)
}

// streamJSON is a row of `streams list --json`.
type streamJSON struct {
	Stream  string `json:"stream"`
	Version uint64 `json:"version"`
}

func runStreamsList(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("streams list", &a.g, a.stderr)
	var opts espg.StreamsOptions
	fs.StringVar(&opts.Prefix, "prefix", "", "only streams whose ID starts with this")
	fs.StringVar(&opts.After, "after", "", "only streams whose ID sorts after this (paging)")
	fs.IntVar(&opts.Limit, "limit", 0, "at most this many streams (0: all)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("streams list", rest, 0, 0, ""); err != nil {
		return err
	}
	if opts.Limit < 0 {
		return usagef("--limit must be 0 or more, got %d", opts.Limit)
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, espg.Migrations); err != nil {
		return err
	}
	streams, err := env.Events.Streams(ctx, opts)
	if err != nil {
		return err
	}
	if a.g.json {
		out := make([]streamJSON, 0, len(streams))
		for _, s := range streams {
			out = append(out, streamJSON{s.ID, s.Version})
		}
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "STREAM", "VERSION")
	for _, s := range streams {
		t.row(s.ID, strconv.FormatUint(s.Version, 10))
	}
	return t.flush()
}

func runStreamsRead(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("streams read", &a.g, a.stderr)
	from := fs.Uint64("from", 0, "first version to read (default: the first, or the last with --backwards)")
	limit := fs.Int("limit", 0, "at most this many events (0: all)")
	backwards := fs.Bool("backwards", false, "read from newest to oldest")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("streams read", rest, 1, 1, "STREAM [--from N] [--limit N] [--backwards]"); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit must be 0 or more, got %d", *limit)
	}
	stream := rest[0]
	if err := (eventstore.Limits{}).CheckStreamID(stream); err != nil {
		return usagef("stream %q: %v", stream, err)
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, espg.Migrations); err != nil {
		return err
	}
	opts := eventstore.ReadStreamOptions{From: *from, Limit: *limit}
	if *backwards {
		opts.Direction = eventstore.Backwards
	}
	first := true
	for e, err := range env.Events.ReadStream(ctx, stream, opts) {
		if err != nil {
			return err
		}
		if a.g.json {
			if err := writeJSON(a.stdout, toEventJSON(e)); err != nil {
				return err
			}
			continue
		}
		if !first {
			fmt.Fprintln(a.stdout)
		}
		first = false
		printEvent(a, e)
	}
	return nil
}

// printEvent prints one event for people: a header line, the metadata if
// any, and the payload as indented JSON.
func printEvent(a *app, e eventstore.RecordedEvent) {
	fmt.Fprintf(a.stdout, "%s@%d  %s  %s  position %s  id %s\n",
		e.StreamID, e.Version, e.Type, formatTime(e.RecordedAt), e.Position, e.ID)
	if md := metadataLine(e.Metadata); md != "" {
		fmt.Fprintf(a.stdout, "metadata %s\n", md)
	}
	fmt.Fprintln(a.stdout, prettyData(e.Data))
}
