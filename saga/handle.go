package saga

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/internal/backoff"
)

// maxConflictRetries bounds how often a batch is re-planned after losing a
// race (to the deadline scheduler or a dispatcher) on an instance.
const maxConflictRetries = 20

// HandleEvents handles events in order, as the subscription does, but
// without moving the checkpoint: for callers that feed the engine from
// their own subscription, and for tests. Events must come from the store
// (they carry their global positions): an event at or before the position
// an instance last handled is a duplicate delivery and changes nothing.
func (e *Engine) HandleEvents(ctx context.Context, events ...eventstore.RecordedEvent) error {
	if len(events) == 0 {
		return nil
	}
	return e.handleBatch(ctx, events, nil)
}

func (e *Engine) handleBatch(ctx context.Context, events []eventstore.RecordedEvent, lease Lease) error {
	for attempt := 1; ; attempt++ {
		c, err := e.plan(ctx, events, false)
		if err != nil {
			return err
		}
		if lease != nil {
			c.Checkpoint = &CheckpointWrite{Position: events[len(events)-1].Position, Token: lease.Token()}
		}
		if c.IsZero() {
			return nil
		}
		err = e.store.Commit(ctx, c)
		if err == nil {
			if len(c.Commands) > 0 {
				e.poke()
			}
			if c.Checkpoint != nil {
				e.notify()
			}
			return nil
		}
		if errors.Is(err, ErrConflict) && attempt < maxConflictRetries && ctx.Err() == nil {
			continue
		}
		return err
	}
}

// working is an instance while a batch (or a deadline) is planned.
type working struct {
	inst      Instance
	trace     [2]string // traceparent, tracestate of the last step, for deadlines it schedules
	expected  int64     // the stored version; 0 if not stored
	live      bool      // stored, or created in this batch
	dirty     bool
	cancelAll bool
	deadlines map[string]*time.Time // nil value: cancel
}

// advance moves the instance's position to p, never back.
func (w *working) advance(p eventstore.Position) {
	if p.After(w.inst.Position) {
		w.inst.Position = p
	}
}

func (e *Engine) now() time.Time { return e.cfg.Clock.Now().UTC().Truncate(time.Microsecond) }

// plan runs the handlers of a batch on the loaded instances and returns what
// to commit. retry handles events again that an instance has already
// passed (an operator's retry of a parked event): they are not taken for
// duplicate deliveries, and the instance's position does not move back.
func (e *Engine) plan(ctx context.Context, events []eventstore.RecordedEvent, retry bool) (Commit, error) {
	name := e.def.sagaName()
	now := e.now()
	type item struct {
		r   routed
		ok  bool
		err error
	}
	items := make([]item, len(events))
	var ids []string
	for i, ev := range events {
		r, ok, err := e.def.route(ev)
		items[i] = item{r, ok, err}
		if ok && err == nil && r.id != "" && !slices.Contains(ids, r.id) {
			ids = append(ids, r.id)
		}
	}
	loaded := map[string]Instance{}
	if len(ids) > 0 {
		var err error
		if loaded, err = e.store.Load(ctx, name, ids); err != nil {
			return Commit{}, err
		}
	}
	works := make(map[string]*working, len(ids))
	c := Commit{Saga: name}
	for i, ev := range events {
		it := items[i]
		if !it.ok {
			continue
		}
		if it.err != nil {
			e.park(&c, nil, "", ev, it.err, 1, now)
			continue
		}
		if it.r.id == "" {
			continue
		}
		w := works[it.r.id]
		if w == nil {
			w = &working{deadlines: map[string]*time.Time{}}
			if inst, ok := loaded[it.r.id]; ok {
				w.inst, w.expected, w.live = inst, inst.Version, true
			}
			works[it.r.id] = w
		}
		if !w.live {
			if !it.r.start {
				continue // no instance to continue: not this saga's business
			}
			w.inst = Instance{Saga: name, ID: it.r.id, Status: Running, StartedAt: now}
		}
		if w.live && !retry && !ev.Position.After(w.inst.Position) {
			continue // duplicate delivery
		}
		if w.inst.Status.Finished() {
			c.History = append(c.History, entry(w, now, EventIgnored, ev, "instance is "+string(w.inst.Status)))
			w.advance(ev.Position)
			w.inst.UpdatedAt, w.dirty = now, true
			continue
		}
		sctx, st := e.tel.startEvent(ctx, name, it.r.id, ev)
		out, err := e.runEvent(sctx, w.inst, it.r, now)
		if err != nil {
			e.tel.end(ctx, st, name, "event", "", err)
			if ctx.Err() != nil {
				return Commit{}, ctx.Err()
			}
			e.park(&c, w, it.r.id, ev, err, e.cfg.HandlerAttempts, now)
			continue
		}
		w.live = true
		w.advance(ev.Position)
		at := len(c.History)
		c.History = append(c.History, entry(w, now, EventHandled, ev, ""))
		from := len(c.Commands)
		c.History[at].Detail = e.apply(&c, w, out, ev.ID.String(), now)
		st.stamp(&c, from, w)
		e.tel.end(ctx, st, name, "event", w.inst.Status, nil)
		if retry {
			c.History[at].Detail = "retried after it was parked; " + c.History[at].Detail
		}
	}
	for _, id := range slices.Sorted(maps.Keys(works)) {
		e.flush(&c, works[id])
	}
	return c, nil
}

func (e *Engine) runEvent(ctx context.Context, inst Instance, r routed, now time.Time) (outcome, error) {
	var err error
	for attempt := 1; attempt <= e.cfg.HandlerAttempts; attempt++ {
		var out outcome
		if out, err = e.def.runEvent(ctx, inst, r, now); err == nil {
			return out, nil
		}
		if attempt < e.cfg.HandlerAttempts && !backoff.Sleep(ctx, e.cfg.HandlerBackoff) {
			return outcome{}, ctx.Err()
		}
	}
	return outcome{}, err
}

// park records an event the handler keeps failing on (or that cannot be
// decoded) and moves past it.
func (e *Engine) park(c *Commit, w *working, id string, ev eventstore.RecordedEvent, err error, attempts int, now time.Time) {
	herr := &HandlerError{Saga: e.def.sagaName(), Instance: id, What: ev.Type, Err: err}
	e.log.Warn("saga: event parked", "instance", id, "event", ev.ID, "type", ev.Type, "position", ev.Position.String(), "error", herr)
	c.Parked = append(c.Parked, Parked{Saga: e.def.sagaName(), Instance: id, EventID: ev.ID, EventType: ev.Type,
		StreamID: ev.StreamID, Version: ev.Version, Position: ev.Position, Error: herr.Error(), Attempts: attempts, ParkedAt: now})
	if w != nil && w.live {
		c.History = append(c.History, entry(w, now, EventParked, ev, herr.Error()))
		w.advance(ev.Position)
		w.inst.UpdatedAt, w.dirty = now, true
	}
}

// apply folds a handler's outcome into the working instance and the commit,
// and returns a summary of the decisions for the history entry of the
// event or deadline (the commands themselves are in the outbox, which is
// the instance's command history).
func (e *Engine) apply(c *Commit, w *working, out outcome, cause string, now time.Time) string {
	name := e.def.sagaName()
	var notes []string
	w.inst.State, w.inst.UpdatedAt, w.dirty = out.state, now, true
	for _, step := range out.stepped {
		w.inst.Steps = append(w.inst.Steps, step)
		notes = append(notes, "step "+step+" done")
	}
	compensations := 0
	for _, q := range out.commands {
		w.inst.Seq++
		c.Commands = append(c.Commands, Command{
			ID: CommandID(name, w.inst.ID, w.inst.Seq), Saga: name, Instance: w.inst.ID, Seq: w.inst.Seq,
			Type: q.typ, Data: q.data, CausationID: cause, Compensation: q.compensation, Step: q.step,
			CreatedAt: now, NextAttempt: now,
		})
		if q.compensation {
			compensations++
			notes = append(notes, "compensate "+q.step+" with "+q.typ)
		} else {
			notes = append(notes, "send "+q.typ)
		}
	}
	for _, n := range out.cancel {
		w.deadlines[n] = nil
		notes = append(notes, "cancel deadline "+n)
	}
	for _, d := range out.schedule {
		due := d.DueAt
		w.deadlines[d.Name] = &due
		notes = append(notes, "schedule deadline "+d.Name+" at "+due.Format(time.RFC3339Nano))
	}
	if out.status != Running {
		status := out.status
		if status == Compensating && compensations == 0 {
			status = Compensated // nothing to undo
		}
		w.inst.Status, w.inst.Reason = status, out.reason
		w.cancelAll, w.deadlines = true, map[string]*time.Time{}
		detail := string(status)
		if out.reason != "" {
			detail += ": " + out.reason
		}
		c.History = append(c.History, note(w, now, StatusChanged, detail))
	}
	return strings.Join(notes, "; ")
}

// flush adds the working instance's writes to the commit.
func (e *Engine) flush(c *Commit, w *working) {
	if !w.dirty {
		return
	}
	c.Instances = append(c.Instances, InstanceWrite{Instance: w.inst, Expected: w.expected})
	if w.cancelAll {
		c.Cancel = append(c.Cancel, Deadline{Saga: c.Saga, Instance: w.inst.ID})
	}
	for _, n := range slices.Sorted(maps.Keys(w.deadlines)) {
		d := Deadline{Saga: c.Saga, Instance: w.inst.ID, Name: n}
		if due := w.deadlines[n]; due != nil {
			d.DueAt = *due
			d.TraceParent, d.TraceState = w.trace[0], w.trace[1]
			c.Schedule = append(c.Schedule, d)
		} else {
			c.Cancel = append(c.Cancel, d)
		}
	}
}

func entry(w *working, now time.Time, kind HistoryKind, ev eventstore.RecordedEvent, detail string) HistoryEntry {
	return HistoryEntry{Saga: w.inst.Saga, Instance: w.inst.ID, At: now, Kind: kind, EventID: ev.ID,
		EventType: ev.Type, Position: ev.Position, Detail: detail}
}

func note(w *working, now time.Time, kind HistoryKind, detail string) HistoryEntry {
	return HistoryEntry{Saga: w.inst.Saga, Instance: w.inst.ID, At: now, Kind: kind, Detail: detail}
}
