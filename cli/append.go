package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	espg "github.com/chronicle-go/chronicle/eventstore/postgres"
)

// inputEvent is the JSON shape of an event to append, read from stdin.
type inputEvent struct {
	ID       uuid.UUID           `json:"id"`
	Type     string              `json:"type"`
	Data     json.RawMessage     `json:"data"`
	Metadata eventstore.Metadata `json:"metadata"`
}

// parseExpected reads --expected: any, no-stream, exists or a version.
func parseExpected(s string) (eventstore.ExpectedVersion, error) {
	switch s {
	case "":
		return nil, usagef("append needs --expected: any, no-stream, exists or the stream's current version")
	case "any":
		return eventstore.Any, nil
	case "no-stream":
		return eventstore.NoStream, nil
	case "exists", "stream-exists":
		return eventstore.StreamExists, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, usagef("--expected %q: want any, no-stream, exists or a version number", s)
	}
	return eventstore.Exact(v), nil
}

// readEvents reads events from r: JSON objects, one after the other (JSON
// Lines, or simply concatenated), or JSON arrays of them.
func readEvents(r io.Reader) ([]eventstore.Event, error) {
	dec := json.NewDecoder(r)
	var events []eventstore.Event
	add := func(raw json.RawMessage) error {
		var in inputEvent
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&in); err != nil {
			return usagef("stdin: event %d: %v", len(events)+1, err)
		}
		if in.Type == "" {
			return usagef("stdin: event %d: no \"type\"", len(events)+1)
		}
		e := eventstore.Event{ID: in.ID, Type: in.Type, Metadata: in.Metadata}
		if len(in.Data) > 0 && !bytes.Equal(in.Data, []byte("null")) {
			e.Data = in.Data
		}
		if e.ID == uuid.Nil {
			e.ID = eventstore.NewEventID()
		}
		events = append(events, e)
		return nil
	}
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, usagef("stdin: event %d: not JSON: %v", len(events)+1, err)
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '[':
			var list []json.RawMessage
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, usagef("stdin: %v", err)
			}
			for _, item := range list {
				if err := add(item); err != nil {
					return nil, err
				}
			}
		case len(raw) > 0 && raw[0] == '{':
			if err := add(raw); err != nil {
				return nil, err
			}
		default:
			return nil, usagef("stdin: event %d: want a JSON object or an array of them, got %.20s", len(events)+1, raw)
		}
	}
	if len(events) == 0 {
		return nil, usagef("no events on stdin: want JSON objects like {\"type\": \"OrderPlaced\", \"data\": {...}}")
	}
	return events, nil
}

// appendJSON is `append --json`.
type appendJSON struct {
	Stream  string            `json:"stream"`
	Version uint64            `json:"version"`
	Events  []appendEventJSON `json:"events"`
}

type appendEventJSON struct {
	Version  uint64 `json:"version"`
	Position string `json:"position"`
	ID       string `json:"id"`
	Type     string `json:"type"`
}

func runAppend(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("append", &a.g, a.stderr)
	expectedFlag := fs.String("expected", "", "the stream's expected version: any, no-stream, exists or a number (required)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("append", rest, 1, 1, "STREAM --expected any|no-stream|exists|N < events.json"); err != nil {
		return err
	}
	stream := rest[0]
	expected, err := parseExpected(*expectedFlag)
	if err != nil {
		return err
	}
	if isTerminal(a.stdin) {
		fmt.Fprintln(a.stderr, "reading events as JSON from the terminal; end with Ctrl-D")
	}
	events, err := readEvents(a.stdin)
	if err != nil {
		return err
	}
	// Refuse bad input before connecting: nothing is written either way,
	// but the message then does not depend on the server.
	if err := (eventstore.Limits{}).CheckAppend(stream, events); err != nil {
		return err
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, espg.Migrations); err != nil {
		return err
	}
	res, err := env.Events.Append(ctx, stream, expected, events...)
	if err != nil {
		return err
	}
	out := appendJSON{Stream: stream, Version: res.Version}
	first := res.Version - uint64(len(events)) + 1
	for i, e := range events {
		ej := appendEventJSON{Version: first + uint64(i), ID: e.ID.String(), Type: e.Type}
		if i < len(res.Positions) {
			ej.Position = res.Positions[i].String()
		}
		out.Events = append(out.Events, ej)
	}
	if a.g.json {
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "VERSION", "POSITION", "ID", "TYPE")
	for _, e := range out.Events {
		t.row(strconv.FormatUint(e.Version, 10), e.Position, e.ID, e.Type)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "appended %d event(s) to %s, now at version %d\n", len(events), stream, res.Version)
	return nil
}
