package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chronicle-go/chronicle/saga"
	sagapg "github.com/chronicle-go/chronicle/saga/postgres"
)

func runSagas(ctx context.Context, a *app, args []string) error {
	sub, rest, err := a.subcommand("sagas", args, "list", "show", "parked", "failing")
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		return runSagasList(ctx, a, rest)
	case "show":
		return runSagasShow(ctx, a, rest)
	case "parked":
		return runSagasParked(ctx, a, rest)
	default:
		return runSagasFailing(ctx, a, rest)
	}
}

// sagaReader reads one saga's instances: through the application's engine
// when one is registered, else from the saga tables.
type sagaReader interface {
	Instances(ctx context.Context, q saga.Query) ([]saga.Instance, error)
	Count(ctx context.Context) (map[saga.Status]int, error)
	History(ctx context.Context, id string) (saga.History, error)
	Parked(ctx context.Context) ([]saga.Parked, error)
	FailingCommands(ctx context.Context) ([]saga.Command, error)
}

// storeSaga reads a saga by name through a store's [saga.Inspector].
type storeSaga struct {
	store saga.Inspector
	name  string
}

func (s storeSaga) Instances(ctx context.Context, q saga.Query) ([]saga.Instance, error) {
	return s.store.Instances(ctx, s.name, q)
}

func (s storeSaga) Count(ctx context.Context) (map[saga.Status]int, error) {
	return s.store.Count(ctx, s.name)
}

func (s storeSaga) History(ctx context.Context, id string) (saga.History, error) {
	return s.store.History(ctx, s.name, id)
}

func (s storeSaga) Parked(ctx context.Context) ([]saga.Parked, error) {
	return s.store.ParkedEvents(ctx, s.name)
}

func (s storeSaga) FailingCommands(ctx context.Context) ([]saga.Command, error) {
	return s.store.FailingCommands(ctx, s.name)
}

// sagas returns a reader per registered saga (sorted by name), or, in the
// generic binary, nil and the saga tables.
func (a *app) sagas(ctx context.Context) (map[string]sagaReader, []string, *sagaTables, error) {
	env, err := a.open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if a.opts.Sagas == nil {
		if err := a.requireMigrated(ctx, env, sagapg.Migrations); err != nil {
			return nil, nil, nil, err
		}
		tables, err := newSagaTables(env.Pool, env.Schema)
		if err != nil {
			return nil, nil, nil, err
		}
		return nil, nil, tables, nil
	}
	engines, err := a.opts.Sagas(ctx, env)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("building the application's sagas: %w", err)
	}
	readers := map[string]sagaReader{}
	var names []string
	for _, e := range engines {
		readers[e.Name()] = e
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return readers, names, nil, nil
}

// sagaByName finds the saga name: a registered one, or in the generic
// binary one the saga tables hold. Otherwise it is not found.
func (a *app) sagaByName(ctx context.Context, name string) (sagaReader, error) {
	readers, names, tables, err := a.sagas(ctx)
	if err != nil {
		return nil, err
	}
	if tables != nil {
		return tables.byName(ctx, name)
	}
	r, ok := readers[name]
	if !ok {
		return nil, fmt.Errorf("saga %q is not registered (registered: %s): %w", name, strings.Join(names, ", "), errNotFound)
	}
	return r, nil
}

var statuses = []saga.Status{saga.Running, saga.Completed, saga.Compensating, saga.Compensated}

// sagaCountJSON is a row of `sagas list --json` without a saga name.
type sagaCountJSON struct {
	Saga   string              `json:"saga"`
	Counts map[saga.Status]int `json:"counts"`
}

// instanceJSON is an instance in `sagas list SAGA --json` and `sagas show`.
type instanceJSON struct {
	Saga      string          `json:"saga"`
	ID        string          `json:"id"`
	Status    saga.Status     `json:"status"`
	Reason    string          `json:"reason"`
	Version   int64           `json:"version"`
	Steps     []string        `json:"steps"`
	Seq       int64           `json:"seq"`
	Position  string          `json:"position"`
	StartedAt time.Time       `json:"started_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	State     json.RawMessage `json:"state,omitempty"`
}

func toInstanceJSON(in saga.Instance, withState bool) instanceJSON {
	out := instanceJSON{Saga: in.Saga, ID: in.ID, Status: in.Status, Reason: in.Reason, Version: in.Version,
		Steps: in.Steps, Seq: in.Seq, Position: in.Position.String(), StartedAt: in.StartedAt.UTC(), UpdatedAt: in.UpdatedAt.UTC()}
	if out.Steps == nil {
		out.Steps = []string{}
	}
	if withState {
		out.State = rawOrString(in.State)
	}
	return out
}

// rawOrString returns b as raw JSON if it is JSON, else as a JSON string.
func rawOrString(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	s, _ := json.Marshal(string(b))
	return s
}

func runSagasList(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("sagas list", &a.g, a.stderr)
	var q saga.Query
	status := fs.String("status", "", "only instances in this status: running, completed, compensating, compensated")
	fs.StringVar(&q.After, "after", "", "only instances whose ID sorts after this (paging)")
	fs.IntVar(&q.Limit, "limit", 100, "at most this many instances")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("sagas list", rest, 0, 1, "[SAGA] [--status S] [--after ID] [--limit N]"); err != nil {
		return err
	}
	if q.Status = saga.Status(*status); *status != "" && !q.Status.Valid() {
		return usagef("--status %q: want running, completed, compensating or compensated", *status)
	}
	if q.Limit <= 0 {
		return usagef("--limit must be 1 or more, got %d", q.Limit)
	}
	if len(rest) == 0 {
		return a.sagaCounts(ctx)
	}
	r, err := a.sagaByName(ctx, rest[0])
	if err != nil {
		return err
	}
	list, err := r.Instances(ctx, q)
	if err != nil {
		return err
	}
	if a.g.json {
		out := make([]instanceJSON, 0, len(list))
		for _, in := range list {
			out = append(out, toInstanceJSON(in, false))
		}
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "ID", "STATUS", "VERSION", "STEPS", "STARTED", "UPDATED", "REASON")
	for _, in := range list {
		t.row(in.ID, string(in.Status), strconv.FormatInt(in.Version, 10), strings.Join(in.Steps, ","),
			formatTime(in.StartedAt), formatTime(in.UpdatedAt), in.Reason)
	}
	return t.flush()
}

// sagaCounts prints how many instances of each saga are in each status:
// every registered saga, or in the generic binary every saga the saga tables
// hold.
func (a *app) sagaCounts(ctx context.Context) error {
	readers, names, tables, err := a.sagas(ctx)
	if err != nil {
		return err
	}
	var out []sagaCountJSON
	if tables != nil {
		if out, err = tables.counts(ctx); err != nil {
			return err
		}
	} else {
		out = make([]sagaCountJSON, 0, len(names))
		for _, n := range names {
			c, err := readers[n].Count(ctx)
			if err != nil {
				return fmt.Errorf("saga %q: %w", n, err)
			}
			out = append(out, sagaCountJSON{Saga: n, Counts: everyStatus(c)})
		}
	}
	if a.g.json {
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "SAGA", "RUNNING", "COMPLETED", "COMPENSATING", "COMPENSATED")
	for _, c := range out {
		t.row(c.Saga, strconv.Itoa(c.Counts[saga.Running]), strconv.Itoa(c.Counts[saga.Completed]),
			strconv.Itoa(c.Counts[saga.Compensating]), strconv.Itoa(c.Counts[saga.Compensated]))
	}
	return t.flush()
}

// historyJSON is `sagas show --json`.
type historyJSON struct {
	Instance  instanceJSON  `json:"instance"`
	History   []entryJSON   `json:"history"`
	Commands  []commandJSON `json:"commands"`
	Deadlines []deadlineRow `json:"deadlines"`
	Parked    []parkedJSON  `json:"parked"`
}

type entryJSON struct {
	At        time.Time        `json:"at"`
	Kind      saga.HistoryKind `json:"kind"`
	EventID   string           `json:"event_id,omitempty"`
	EventType string           `json:"event_type,omitempty"`
	Position  string           `json:"position,omitempty"`
	Detail    string           `json:"detail"`
}

type commandJSON struct {
	ID           string          `json:"id"`
	Seq          int64           `json:"seq"`
	Type         string          `json:"type"`
	Data         json.RawMessage `json:"data"`
	CausationID  string          `json:"causation_id"`
	Compensation bool            `json:"compensation"`
	Step         string          `json:"step"`
	CreatedAt    time.Time       `json:"created_at"`
	Attempts     int             `json:"attempts"`
	LastError    string          `json:"last_error"`
	SentAt       *time.Time      `json:"sent_at"`
	Refused      bool            `json:"refused"`
}

type deadlineRow struct {
	Name  string    `json:"name"`
	DueAt time.Time `json:"due_at"`
}

type parkedJSON struct {
	Instance  string    `json:"instance"`
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	Stream    string    `json:"stream"`
	Version   uint64    `json:"version"`
	Position  string    `json:"position"`
	Error     string    `json:"error"`
	Attempts  int       `json:"attempts"`
	ParkedAt  time.Time `json:"parked_at"`
}

func toHistoryJSON(h saga.History) historyJSON {
	out := historyJSON{Instance: toInstanceJSON(h.Instance, true),
		History: []entryJSON{}, Commands: []commandJSON{}, Deadlines: []deadlineRow{}, Parked: []parkedJSON{}}
	for _, e := range h.Entries {
		ej := entryJSON{At: e.At.UTC(), Kind: e.Kind, EventType: e.EventType, Detail: e.Detail}
		if e.Kind == saga.EventHandled || e.EventType != "" {
			ej.EventID, ej.Position = e.EventID.String(), e.Position.String()
		}
		out.History = append(out.History, ej)
	}
	for _, c := range h.Commands {
		out.Commands = append(out.Commands, commandJSON{ID: c.ID.String(), Seq: c.Seq, Type: c.Type, Data: rawOrString(c.Data),
			CausationID: c.CausationID, Compensation: c.Compensation, Step: c.Step, CreatedAt: c.CreatedAt.UTC(),
			Attempts: c.Attempts, LastError: c.LastError, SentAt: timePtr(c.SentAt), Refused: c.Refused})
	}
	for _, d := range h.Deadlines {
		out.Deadlines = append(out.Deadlines, deadlineRow{Name: d.Name, DueAt: d.DueAt.UTC()})
	}
	for _, p := range h.Parked {
		out.Parked = append(out.Parked, toParkedJSON(p))
	}
	return out
}

func runSagasShow(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("sagas show", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("sagas show", rest, 2, 2, "SAGA ID"); err != nil {
		return err
	}
	r, err := a.sagaByName(ctx, rest[0])
	if err != nil {
		return err
	}
	h, err := r.History(ctx, rest[1])
	if err != nil {
		return fmt.Errorf("saga %q instance %q: %w", rest[0], rest[1], err)
	}
	out := toHistoryJSON(h)
	if a.g.json {
		return writeJSON(a.stdout, out)
	}
	in := h.Instance
	status := string(in.Status)
	if in.Reason != "" {
		status += " (" + in.Reason + ")"
	}
	t := newTable(a.stdout, "FIELD", "VALUE")
	t.row("saga", in.Saga)
	t.row("instance", in.ID)
	t.row("status", status)
	t.row("version", strconv.FormatInt(in.Version, 10))
	t.row("steps done", strings.Join(in.Steps, ", "))
	t.row("last event", formatPosition(in.Position))
	t.row("started", formatTime(in.StartedAt))
	t.row("updated", formatTime(in.UpdatedAt))
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nstate:\n%s\n", prettyData(out.Instance.State))

	fmt.Fprintf(a.stdout, "\nhistory:\n")
	t = newTable(a.stdout, "AT", "KIND", "EVENT", "POSITION", "DETAIL")
	for _, e := range out.History {
		t.row(formatTime(e.At), string(e.Kind), e.EventType, e.Position, e.Detail)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\ncommands:\n")
	t = newTable(a.stdout, "SEQ", "TYPE", "KIND", "STEP", "SENT", "ATTEMPTS", "LAST ERROR")
	for _, c := range out.Commands {
		kind, sent := "command", "pending"
		if c.Compensation {
			kind = "compensation"
		}
		if c.SentAt != nil {
			sent = formatTime(*c.SentAt)
		}
		if c.Refused {
			sent = "refused " + sent
		}
		t.row(strconv.FormatInt(c.Seq, 10), c.Type, kind, c.Step, sent, strconv.Itoa(c.Attempts), c.LastError)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(out.Deadlines) > 0 {
		fmt.Fprintf(a.stdout, "\ndeadlines:\n")
		t = newTable(a.stdout, "NAME", "DUE")
		for _, d := range out.Deadlines {
			t.row(d.Name, formatTime(d.DueAt))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(out.Parked) > 0 {
		fmt.Fprintf(a.stdout, "\nparked events:\n")
		t = newTable(a.stdout, "EVENT", "STREAM", "POSITION", "ATTEMPTS", "ERROR")
		for _, p := range out.Parked {
			t.row(p.EventType, p.Stream+"@"+strconv.FormatUint(p.Version, 10), p.Position, strconv.Itoa(p.Attempts), p.Error)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}

func toParkedJSON(p saga.Parked) parkedJSON {
	return parkedJSON{Instance: p.Instance, EventID: p.EventID.String(), EventType: p.EventType, Stream: p.StreamID,
		Version: p.Version, Position: p.Position.String(), Error: p.Error, Attempts: p.Attempts, ParkedAt: p.ParkedAt.UTC()}
}

// runSagasParked is `sagas parked SAGA`: the events the saga's handlers
// kept failing on, which the engine moved past and kept for an operator.
func runSagasParked(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("sagas parked", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("sagas parked", rest, 1, 1, "SAGA"); err != nil {
		return err
	}
	r, err := a.sagaByName(ctx, rest[0])
	if err != nil {
		return err
	}
	parked, err := r.Parked(ctx)
	if err != nil {
		return err
	}
	out := make([]parkedJSON, 0, len(parked))
	for _, p := range parked {
		out = append(out, toParkedJSON(p))
	}
	if a.g.json {
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "INSTANCE", "EVENT", "STREAM", "POSITION", "ATTEMPTS", "PARKED", "ERROR")
	for _, p := range out {
		t.row(p.Instance, p.EventType, p.Stream+"@"+strconv.FormatUint(p.Version, 10), p.Position,
			strconv.Itoa(p.Attempts), formatTime(p.ParkedAt), p.Error)
	}
	return t.flush()
}

// failingJSON is a row of `sagas failing --json`.
type failingJSON struct {
	Instance     string    `json:"instance"`
	ID           string    `json:"id"`
	Seq          int64     `json:"seq"`
	Type         string    `json:"type"`
	Compensation bool      `json:"compensation"`
	Attempts     int       `json:"attempts"`
	LastError    string    `json:"last_error"`
	NextAttempt  time.Time `json:"next_attempt"`
}

// runSagasFailing is `sagas failing SAGA`: unsent commands whose sends
// failed and are being retried.
func runSagasFailing(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("sagas failing", &a.g, a.stderr)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := a.wantArgs("sagas failing", rest, 1, 1, "SAGA"); err != nil {
		return err
	}
	r, err := a.sagaByName(ctx, rest[0])
	if err != nil {
		return err
	}
	cmds, err := r.FailingCommands(ctx)
	if err != nil {
		return err
	}
	out := make([]failingJSON, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, failingJSON{Instance: c.Instance, ID: c.ID.String(), Seq: c.Seq, Type: c.Type, Compensation: c.Compensation,
			Attempts: c.Attempts, LastError: c.LastError, NextAttempt: c.NextAttempt.UTC()})
	}
	if a.g.json {
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "INSTANCE", "SEQ", "TYPE", "KIND", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR")
	for _, c := range out {
		kind := "command"
		if c.Compensation {
			kind = "compensation"
		}
		t.row(c.Instance, strconv.FormatInt(c.Seq, 10), c.Type, kind, strconv.Itoa(c.Attempts), formatTime(c.NextAttempt), c.LastError)
	}
	return t.flush()
}

// everyStatus returns c's counts of the statuses the CLI shows, zero where c
// has none.
func everyStatus(c map[saga.Status]int) map[saga.Status]int {
	out := make(map[saga.Status]int, len(statuses))
	for _, s := range statuses {
		out[s] = c[s]
	}
	return out
}
