package console

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/saga"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// cause is what an event's causation ID points at: another event, or a
// command a saga sent (and the event that command reacted to).
type cause struct {
	ID      string
	Event   *eventstore.RecordedEvent
	Command *saga.Command
	// Reacted is the event the command reacted to, when it is known.
	Reacted *eventstore.RecordedEvent
}

// causes resolves the causation IDs of events: against the events
// themselves first, then against the sagas' outbox in one query, and the
// commands' own causation IDs against the events again. IDs it cannot
// resolve are absent.
func (c *Console) causes(ctx context.Context, events []eventstore.RecordedEvent) map[string]*cause {
	byID := make(map[uuid.UUID]*eventstore.RecordedEvent, len(events))
	for i := range events {
		byID[events[i].ID] = &events[i]
	}
	out := map[string]*cause{}
	var lookup []uuid.UUID
	for _, e := range events {
		cid := e.Metadata.CausationID
		if cid == "" || out[cid] != nil {
			continue
		}
		id, err := uuid.Parse(cid)
		if err != nil {
			continue
		}
		if ev := byID[id]; ev != nil {
			out[cid] = &cause{ID: cid, Event: ev}
			continue
		}
		if !slices.Contains(lookup, id) {
			lookup = append(lookup, id)
		}
	}
	if len(lookup) == 0 || c.cfg.Sagas == nil {
		return out
	}
	cmds, err := c.cfg.Sagas.Commands(ctx, lookup)
	if err != nil {
		return out
	}
	for i := range cmds {
		cmd := &cmds[i]
		cs := &cause{ID: cmd.ID.String(), Command: cmd}
		if id, err := uuid.Parse(cmd.CausationID); err == nil {
			cs.Reacted = byID[id]
		}
		out[cs.ID] = cs
	}
	return out
}

type eventData struct {
	Event   eventstore.RecordedEvent
	Payload string
	Values  []kv
	Cause   *cause
	// CauseLookup is set when the cause was searched for but not found.
	CauseLookup bool
	// Caused lists the events this one caused, directly or through a
	// saga's command, among the events of its correlation.
	Caused     []caused
	Correlated int
	Partial    bool
}

type kv struct{ Key, Value string }

type caused struct {
	Event eventstore.RecordedEvent
	Via   *saga.Command
}

// event shows one event, by ID or by stream and version.
func (c *Console) event(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var e eventstore.RecordedEvent
	if s := r.FormValue("id"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return badRequest("id is not an event ID (a UUID)")
		}
		if e, err = c.cfg.Index.Event(ctx, id); err != nil {
			return err
		}
	} else {
		stream, err := input(r, "stream")
		if err != nil {
			return err
		}
		v, err := strconv.ParseUint(r.FormValue("version"), 10, 64)
		if err != nil || v == 0 || stream == "" {
			return badRequest("which event? pass id, or stream and version (1 or more)")
		}
		found := false
		for ev, err := range c.cfg.Events.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: v, Limit: 1}) {
			if err != nil {
				return err
			}
			e, found = ev, ev.Version == v
		}
		if !found {
			return statusError{http.StatusNotFound, errors.New("the stream has no event at that version")}
		}
	}
	d := eventData{Event: e, Payload: prettyJSON(e.Data)}
	for _, k := range slices.Sorted(maps.Keys(e.Metadata.Values)) {
		d.Values = append(d.Values, kv{k, e.Metadata.Values[k]})
	}
	var related []eventstore.RecordedEvent
	if id := e.Metadata.CorrelationID; id != "" {
		f, err := c.cfg.Index.Correlated(ctx, id, correlationLimit)
		if err != nil {
			return err
		}
		related, d.Correlated, d.Partial = f.Events, len(f.Events), f.Partial
	}
	if !slices.ContainsFunc(related, func(x eventstore.RecordedEvent) bool { return x.ID == e.ID }) {
		related = append(related, e)
	}
	causes := c.causes(ctx, related)
	if cid := e.Metadata.CausationID; cid != "" {
		d.Cause = causes[cid]
		if d.Cause == nil {
			if id, err := uuid.Parse(cid); err == nil {
				if ev, err := c.cfg.Index.Event(ctx, id); err == nil {
					d.Cause = &cause{ID: cid, Event: &ev}
				}
			}
			d.CauseLookup = d.Cause == nil
		}
	}
	for _, x := range related {
		cs := causes[x.Metadata.CausationID]
		switch {
		case cs == nil:
		case cs.Event != nil && cs.Event.ID == e.ID:
			d.Caused = append(d.Caused, caused{Event: x})
		case cs.Command != nil && cs.Reacted != nil && cs.Reacted.ID == e.ID:
			d.Caused = append(d.Caused, caused{Event: x, Via: cs.Command})
		}
	}
	return c.render(w, r, "event", e.Type+" "+e.StreamID+"@"+strconv.FormatUint(e.Version, 10), d)
}

type correlationData struct {
	ID      string
	Events  []eventstore.RecordedEvent
	Causes  map[string]*cause
	Partial bool
	Scanned int
	Streams []string
}

// correlation shows every event of one correlation ID in global order,
// with what caused each: one order's path through every service.
func (c *Console) correlation(w http.ResponseWriter, r *http.Request) error {
	id, err := input(r, "id")
	if err != nil {
		return err
	}
	if id == "" {
		return badRequest("which correlation ID? pass id")
	}
	f, err := c.cfg.Index.Correlated(r.Context(), id, correlationLimit)
	if err != nil {
		return err
	}
	d := correlationData{ID: id, Events: f.Events, Partial: f.Partial, Scanned: f.Scanned, Causes: c.causes(r.Context(), f.Events)}
	for _, e := range f.Events {
		if !slices.Contains(d.Streams, e.StreamID) {
			d.Streams = append(d.Streams, e.StreamID)
		}
	}
	return c.render(w, r, "correlation", "Correlation "+id, d)
}
